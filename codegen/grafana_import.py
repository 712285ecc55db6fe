"""Upsert generated dashboards into a running Grafana over its HTTP API.

Idempotent: dashboards are saved by uid with ``overwrite: true`` (``POST /api/dashboards/db``), the folder is
looked up by title and created once with a uid derived from the title, and the datasource the dashboards query
is checked first so a missing one is reported instead of leaving panels that say "datasource not found". Every
answer is checked against the shape Grafana's HTTP API documents: a 200 that is a login page, a proxy's page or
another service's JSON is a failure, never "imported". Every failure is a ``GrafanaImportError`` whose one-line
message says what to do. The transport (deadline, no redirects, size cap, masking) is ``grafana_http``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen.grafana_http import SHOWN_CHARS, Answer, GrafanaClient, GrafanaImportError, printable

ADMIN_ROLE_HINT = "use a service-account token (or user) with the Editor role, or Admin to create folders"
DATASOURCE_HINT = (
    "provision deploy/grafana/provisioning/datasources/prometheus.yaml, or add a Prometheus "
    "datasource with that uid in Grafana (Connections > Data sources)"
)
NOT_GRAFANA_HINT = "is --grafana-url the root URL of Grafana (not a login page, a proxy or another service)?"


@dataclass
class ImportReport:
    folder_uid: str = ""
    folder_title: str = "General"
    folder_created: bool = False
    imported: list[tuple[str, str, int]] = field(default_factory=list)  # uid, url, version
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _message(body: Any) -> str:
    if isinstance(body, dict):
        text = str(body.get("message") or body.get("error") or "")
        status = body.get("status")
        text = f"{text} [{status}]" if status else text
        return printable(text, SHOWN_CHARS)
    return ""


def _failure(answer: Answer, action: str, url: str) -> str:
    """The sentence for a non-2xx answer: what went wrong and what to do."""
    status = answer.status
    said = _message(answer.body)
    said = f" Grafana said: {said}" if said else ""
    if status == 401:
        return (
            f"Grafana at {url} rejected the credentials (401 Unauthorized) while trying to {action}: "
            f"check --token, or --user and --password.{said}"
        )
    if status == 403:
        return f"permission denied (403 Forbidden) to {action}: {ADMIN_ROLE_HINT}.{said}"
    if status == 404:
        return (
            f"not found (404) while trying to {action}: is --grafana-url the root URL of Grafana "
            f"(e.g. http://localhost:3000)?{said}"
        )
    if status == 412:
        return (
            f"Grafana refused to {action} (412 Precondition Failed): a dashboard with this uid already "
            "exists (version-mismatch) or another dashboard in the folder has its title (name-exists). "
            f"Run without --no-overwrite to replace it with the generated one.{said}"
        )
    return f"Grafana at {url} answered {status} while trying to {action}.{said}"


def _documented(answer: Answer, action: str, expected: str, valid: Callable[[Any], bool], url: str) -> Any:
    """The body of a 2xx answer that has the documented shape; anything else is a failure naming what came."""
    if answer.is_json and valid(answer.body):
        return answer.body
    got = (
        "JSON of another shape"
        if answer.is_json
        else f"{printable(answer.content_type or 'no content type')} (not JSON)"
    )
    raise GrafanaImportError(
        f"Grafana at {url} answered {answer.status} to {action} ({answer.method} {answer.path.split('?')[0]}) "
        f"with {got} instead of {expected}: {NOT_GRAFANA_HINT}"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _has_uid(uid: str) -> Callable[[Any], bool]:
    return lambda body: isinstance(body, dict) and body.get("uid") == uid


def _is_folder(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("uid"), str)
        and bool(value["uid"])
        and (isinstance(value.get("title"), str))
    )


# ----------------------------------------------------------------------------------------------------------
# Inputs


def load_dashboards(directory: str | Path) -> list[dict[str, Any]]:
    """Every ``*.json`` dashboard model in ``directory`` (sorted); a bad file stops the import up front."""
    root = Path(directory)
    if not root.is_dir():
        raise GrafanaImportError(f"{root}: not a directory (run `make generate` first, or pass --dir)")
    boards: list[dict[str, Any]] = []
    for path in sorted(root.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GrafanaImportError(f"{path}: not a readable dashboard JSON file: {exc}") from None
        except RecursionError:
            raise GrafanaImportError(f"{path}: not a dashboard: JSON nested deeper than the parser follows") from None
        if not isinstance(data, dict) or not isinstance(data.get("title"), str) or not isinstance(data.get("uid"), str):
            raise GrafanaImportError(f"{path}: not a dashboard model (needs a title and a uid)")
        if "dashboard" in data and "panels" not in data:
            raise GrafanaImportError(f"{path}: holds an API wrapper ({{'dashboard': ...}}); expected the bare model")
        boards.append(data)
    if not boards:
        raise GrafanaImportError(f"{root}: no dashboard JSON files (run `make generate` first)")
    return boards


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every mapping inside ``value``, without recursion (any nesting the JSON parser accepted is fine)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def datasource_uids(board: dict[str, Any]) -> set[str]:
    """Datasource uids the dashboard's panels, targets and variables name (not Grafana's built-in one)."""
    uids: set[str] = set()
    for node in _walk(board):
        ds = node.get("datasource")
        if isinstance(ds, dict) and isinstance(ds.get("uid"), str):
            uid = ds["uid"]
            if uid and not uid.startswith(("-- ", "$")) and ds.get("type") != "grafana":
                uids.add(uid)
    return uids


def folder_uid_for(title: str) -> str:
    """A stable folder uid from its title, so two runs (or two people) create the same folder, not two."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "folder"
    return f"slogen-{slug}"[:40]


# ----------------------------------------------------------------------------------------------------------
# The import


def _ok(answer: Answer) -> bool:
    return 200 <= answer.status < 300


def _ensure_folder(client: GrafanaClient, title: str, report: ImportReport) -> None:
    url = client.base_url
    answer = client.request("GET", "/api/folders?limit=1000")
    if not _ok(answer):
        raise GrafanaImportError(_failure(answer, "list folders", url))
    folders = _documented(
        answer,
        "list folders",
        "a list of folders with uid and title",
        lambda body: isinstance(body, list) and all(_is_folder(f) for f in body),
        url,
    )
    for folder in folders:
        if folder["title"] == title:
            report.folder_uid, report.folder_title = folder["uid"], title
            return
    uid = folder_uid_for(title)
    answer = client.request("POST", "/api/folders", {"uid": uid, "title": title})
    if _ok(answer):
        created = _documented(answer, f"create folder {title!r}", "the folder with uid and title", _is_folder, url)
        report.folder_uid, report.folder_title, report.folder_created = created["uid"], title, True
        return
    if answer.status in (409, 412):  # created meanwhile, or the uid is taken by a folder with another title
        existing = client.request("GET", f"/api/folders/{urllib.parse.quote(uid, safe='')}")
        if _ok(existing):
            folder = _documented(
                existing,
                f"read folder {uid!r}",
                f"the folder with uid {uid!r}",
                lambda body: _is_folder(body) and _has_uid(uid)(body),
                url,
            )
            report.folder_uid, report.folder_title = uid, folder["title"]
            report.warnings.append(
                f"folder uid {uid!r} already exists (titled {printable(folder['title'], SHOWN_CHARS)!r}); using it"
            )
            return
    raise GrafanaImportError(_failure(answer, f"create folder {title!r}", url))


def _check_datasources(client: GrafanaClient, boards: Sequence[dict[str, Any]], report: ImportReport) -> None:
    wanted = sorted(set().union(*(datasource_uids(b) for b in boards)))
    for uid in wanted:
        answer = client.request("GET", f"/api/datasources/uid/{urllib.parse.quote(uid, safe='')}")
        if _ok(answer):
            _documented(
                answer,
                f"check datasource {uid!r}",
                f"the datasource with uid {uid!r}",
                _has_uid(uid),
                client.base_url,
            )
            continue
        if answer.status == 404:
            raise GrafanaImportError(
                f"datasource uid {uid!r} not found in Grafana (404): the dashboards query "
                f"it by that uid; {DATASOURCE_HINT}."
            )
        if answer.status == 403:  # reading datasources may need more than saving dashboards: don't block on it
            report.warnings.append(
                f"could not verify datasource {uid!r} (403: the credentials may not read datasources); importing anyway"
            )
            continue
        raise GrafanaImportError(_failure(answer, f"check datasource {uid!r}", client.base_url))


def _saved(uid: str) -> Callable[[Any], bool]:
    """Grafana's documented save result: ``{id, uid, url, status: "success", version}``, for this uid."""

    def valid(body: Any) -> bool:
        return (
            isinstance(body, dict)
            and body.get("status") == "success"
            and body.get("uid") == uid
            and _is_int(body.get("id"))
            and _is_int(body.get("version"))
            and body["version"] >= 1
            and isinstance(body.get("url"), str)
            and body["url"].startswith("/")
        )

    return valid


def _save(client: GrafanaClient, board: dict[str, Any], report: ImportReport, overwrite: bool, message: str) -> None:
    """Save one dashboard: a refusal lands in ``report.failures``; auth and transport failures raise."""
    # ids are per Grafana instance (the uid identifies a dashboard) and Grafana keeps the version itself.
    model = {k: v for k, v in board.items() if k not in ("id", "version")}
    model["id"] = None
    payload = {"dashboard": model, "folderUid": report.folder_uid, "overwrite": overwrite, "message": message}
    uid = str(board.get("uid"))
    action = f"save dashboard {uid!r} ({board.get('title')})"
    answer = client.request("POST", "/api/dashboards/db", payload)
    if _ok(answer):
        expected = "the save result {id, uid, url, status, version}"
        saved = _documented(answer, action, expected, _saved(uid), client.base_url)
        report.imported.append((uid, printable(saved["url"], SHOWN_CHARS), saved["version"]))
        return
    failure = _failure(answer, action, client.base_url)
    if answer.status in (401, 403):
        raise GrafanaImportError(failure)
    report.failures.append(failure)


def import_dashboards(
    client: GrafanaClient,
    boards: Sequence[dict[str, Any]],
    folder: str | None = None,
    overwrite: bool = True,
    message: str = "imported by slogen",
) -> ImportReport:
    """Upsert ``boards`` into ``folder`` (created if missing; None = General); raise on a global failure.

    Per-dashboard refusals (e.g. 412 without overwrite) are collected in ``report.failures`` so one conflict
    does not hide the state of the others. An answer that is not Grafana's is global: nothing it says is trusted.
    """
    report = ImportReport()
    if folder:
        _ensure_folder(client, folder, report)
    _check_datasources(client, boards, report)
    for board in boards:
        try:
            _save(client, board, report, overwrite, message)
        except GrafanaImportError as exc:
            if not report.imported:
                raise
            raise GrafanaImportError(
                f"{exc} ({len(report.imported)} of {len(boards)} dashboard(s) were saved before this; "
                "the import is idempotent: run it again once this is fixed)"
            ) from None
    return report
