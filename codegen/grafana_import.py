"""Upsert generated dashboards into a running Grafana over its HTTP API (stdlib only, so it runs anywhere).

Idempotent: dashboards are saved by uid with ``overwrite: true`` (``POST /api/dashboards/db``), the folder is
looked up by title and created once with a uid derived from the title, and the datasource the dashboards query
is checked first so a missing one is reported instead of leaving panels that say "datasource not found". Every
failure becomes a ``GrafanaImportError`` whose message says what to do.
"""

from __future__ import annotations

import base64
import errno
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADMIN_ROLE_HINT = "use a service-account token (or user) with the Editor role, or Admin to create folders"
DATASOURCE_HINT = (
    "provision deploy/grafana/provisioning/datasources/prometheus.yaml, or add a Prometheus "
    "datasource with that uid in Grafana (Connections > Data sources)"
)


class GrafanaImportError(Exception):
    """An import step failed; the message is meant for the person running the command."""


@dataclass(frozen=True)
class Auth:
    """Service-account token (Bearer) or user and password (Basic), as Grafana's HTTP API accepts them."""

    token: str | None = None
    user: str | None = None
    password: str | None = None

    def header(self) -> str:
        if self.token:
            return f"Bearer {self.token}"
        raw = f"{self.user or ''}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass
class ImportReport:
    folder_uid: str = ""
    folder_title: str = "General"
    folder_created: bool = False
    imported: list[tuple[str, str, int]] = field(default_factory=list)  # uid, url, version
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class GrafanaClient:
    """A thin JSON client: every call returns ``(status, body)``; only transport failures raise."""

    def __init__(self, base_url: str, auth: Auth, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Authorization", self.auth.header())
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, _json(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _json(exc.read())
        except urllib.error.URLError as exc:
            raise GrafanaImportError(_unreachable(self.base_url, exc.reason)) from exc
        except (TimeoutError, ConnectionError) as exc:
            raise GrafanaImportError(_unreachable(self.base_url, exc)) from exc


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"message": raw.decode("utf-8", "replace")[:200]}


def _unreachable(url: str, reason: object) -> str:
    refused = isinstance(reason, ConnectionRefusedError) or (
        isinstance(reason, OSError) and reason.errno == errno.ECONNREFUSED
    )
    if refused:
        return (
            f"cannot connect to Grafana at {url}: connection refused. Is Grafana running "
            "(e.g. `docker compose up -d grafana`) and is --grafana-url right?"
        )
    return f"cannot reach Grafana at {url}: {reason}"


def _message(body: Any) -> str:
    if isinstance(body, dict):
        text = str(body.get("message") or body.get("error") or "")
        status = body.get("status")
        return f"{text} [{status}]" if status else text
    return ""


def _failure(status: int, action: str, body: Any, url: str) -> str:
    """The sentence for a non-2xx answer: what went wrong and what to do."""
    said = _message(body)
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
    return f"Grafana answered {status} while trying to {action}.{said}"


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
            raise GrafanaImportError(f"{path}: not a readable dashboard JSON file: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("title"), str) or not data.get("uid"):
            raise GrafanaImportError(f"{path}: not a dashboard model (needs a title and a uid)")
        if "dashboard" in data and "panels" not in data:
            raise GrafanaImportError(f"{path}: holds an API wrapper ({{'dashboard': ...}}); expected the bare model")
        boards.append(data)
    if not boards:
        raise GrafanaImportError(f"{root}: no dashboard JSON files (run `make generate` first)")
    return boards


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _walk(child)
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child)


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


def _ensure_folder(client: GrafanaClient, title: str, report: ImportReport) -> None:
    status, body = client.request("GET", "/api/folders?limit=1000")
    if status != 200 or not isinstance(body, list):
        raise GrafanaImportError(_failure(status, "list folders", body, client.base_url))
    for folder in body:
        if isinstance(folder, dict) and folder.get("title") == title:
            report.folder_uid, report.folder_title = str(folder["uid"]), title
            return
    uid = folder_uid_for(title)
    status, body = client.request("POST", "/api/folders", {"uid": uid, "title": title})
    if status == 200:
        report.folder_uid, report.folder_title, report.folder_created = str(body.get("uid", uid)), title, True
        return
    if status in (409, 412):  # created meanwhile, or the uid is taken by a folder with another title
        status, existing = client.request("GET", f"/api/folders/{urllib.parse.quote(uid)}")
        if status == 200 and isinstance(existing, dict):
            report.folder_uid, report.folder_title = uid, str(existing.get("title", title))
            report.warnings.append(f"folder uid {uid!r} already exists (titled {report.folder_title!r}); using it")
            return
    raise GrafanaImportError(_failure(status, f"create folder {title!r}", body, client.base_url))


def _check_datasources(client: GrafanaClient, boards: Sequence[dict[str, Any]], report: ImportReport) -> None:
    wanted = sorted(set().union(*(datasource_uids(b) for b in boards)))
    for uid in wanted:
        status, body = client.request("GET", f"/api/datasources/uid/{urllib.parse.quote(uid)}")
        if status == 200:
            continue
        if status == 404:
            raise GrafanaImportError(
                f"datasource uid {uid!r} not found in Grafana (404): the dashboards query "
                f"it by that uid; {DATASOURCE_HINT}."
            )
        if status == 403:  # reading datasources may need more than saving dashboards: don't block on it
            report.warnings.append(
                f"could not verify datasource {uid!r} (403: the credentials may not read datasources); importing anyway"
            )
            continue
        raise GrafanaImportError(_failure(status, f"check datasource {uid!r}", body, client.base_url))


def import_dashboards(
    client: GrafanaClient,
    boards: Sequence[dict[str, Any]],
    folder: str | None = None,
    overwrite: bool = True,
    message: str = "imported by slogen",
) -> ImportReport:
    """Upsert ``boards`` into ``folder`` (created if missing; None = General); raise on a global failure.

    Per-dashboard refusals (e.g. 412 without overwrite) are collected in ``report.failures`` so one conflict
    does not hide the state of the others.
    """
    report = ImportReport()
    if folder:
        _ensure_folder(client, folder, report)
    _check_datasources(client, boards, report)
    for board in boards:
        # ids are per Grafana instance (the uid identifies a dashboard) and Grafana keeps the version itself.
        model = {k: v for k, v in board.items() if k not in ("id", "version")}
        model["id"] = None
        payload = {
            "dashboard": model,
            "folderUid": report.folder_uid,
            "overwrite": overwrite,
            "message": message,
        }
        status, body = client.request("POST", "/api/dashboards/db", payload)
        uid = str(board.get("uid"))
        if status == 200 and isinstance(body, dict):
            report.imported.append((uid, str(body.get("url", "")), int(body.get("version", 0))))
            continue
        failure = _failure(status, f"save dashboard {uid!r} ({board.get('title')})", body, client.base_url)
        if status in (401, 403):
            raise GrafanaImportError(failure)
        report.failures.append(failure)
    return report
