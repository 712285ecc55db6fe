"""`slogen import-dashboards` against a server that enforces Grafana's documented HTTP API (see grafana_fake).

Grafana itself cannot be installed here; these tests pin the importer to the API contract instead: auth,
payload shape, folder handling, datasource check, 412 conflicts, idempotency and the messages a person reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from codegen.cli import main
from codegen.compiler import compile_specs
from codegen.dashboards import render_dashboards
from codegen.exit_codes import EXIT_IMPORT_FAILED, EXIT_OK, EXIT_USAGE
from codegen.grafana_import import folder_uid_for
from codegen.parse import load_specs
from stack.ports import free_port
from tests.codegen.grafana_fake import FakeGrafana, GrafanaState

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]
FOLDER = "Volatility SLO"


@pytest.fixture(scope="module")
def dashboards_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh render of the repository's specs, independent of what is committed in dashboards/."""
    out = tmp_path_factory.mktemp("dashboards")
    for name, text in render_dashboards(compile_specs(load_specs(str(REPO / "slo")))).items():
        (out / name).write_text(text, encoding="utf-8")
    return out


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    with FakeGrafana() as server:
        yield server


def run(server_url: str, directory: Path, *extra: str, token: str | None = "admin-token") -> int:
    auth = ["--token", token] if token else []
    return main(["import-dashboards", "--grafana-url", server_url, *auth, "--dir", str(directory), *extra])


def test_import_creates_the_folder_and_stores_every_dashboard(
    grafana: FakeGrafana, dashboards_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(grafana.url, dashboards_dir, "--folder", FOLDER) == EXIT_OK
    files = sorted(dashboards_dir.glob("*.json"))
    assert sorted(grafana.state.dashboards) == sorted(json.loads(p.read_text())["uid"] for p in files)
    assert [f["title"] for f in grafana.state.folders.values()] == [FOLDER]
    folder_uid = folder_uid_for(FOLDER)
    for path in files:
        generated = json.loads(path.read_text())
        stored = grafana.state.dashboards[generated["uid"]]
        assert stored["folderUid"] == folder_uid
        assert stored["dashboard"]["panels"] == generated["panels"]
        assert stored["dashboard"]["title"] == generated["title"]
    out = capsys.readouterr().out
    assert f"created folder {FOLDER!r}" in out
    assert out.count("imported ") == len(files)
    checked = [path for method, path, _ in grafana.state.requests if path.startswith("/api/datasources/uid/")]
    assert checked == ["/api/datasources/uid/prometheus"]


def test_second_import_is_idempotent(grafana: FakeGrafana, dashboards_dir: Path) -> None:
    assert run(grafana.url, dashboards_dir, "--folder", FOLDER) == EXIT_OK
    first = {
        uid: (d["folderUid"], {k: v for k, v in d["dashboard"].items() if k != "version"})
        for uid, d in grafana.state.dashboards.items()
    }
    assert run(grafana.url, dashboards_dir, "--folder", FOLDER) == EXIT_OK
    second = {
        uid: (d["folderUid"], {k: v for k, v in d["dashboard"].items() if k != "version"})
        for uid, d in grafana.state.dashboards.items()
    }
    assert second == first
    assert len(grafana.state.folders) == 1
    assert {d["dashboard"]["version"] for d in grafana.state.dashboards.values()} == {2}
    folder_posts = [r for r in grafana.state.requests if r[:2] == ("POST", "/api/folders")]
    assert len(folder_posts) == 1


def test_basic_auth_and_general_folder(dashboards_dir: Path) -> None:
    with FakeGrafana() as server:
        code = main(
            [
                "import-dashboards",
                "--grafana-url",
                server.url + "/",
                "--user",
                "admin",
                "--password",
                "s3cret",
                "--dir",
                str(dashboards_dir),
            ]
        )
        assert code == EXIT_OK
        assert server.state.folders == {}
        assert {d["folderUid"] for d in server.state.dashboards.values()} == {""}
        assert {role for _, _, role in server.state.requests} == {"Admin"}


def test_wrong_token_is_401_with_advice(
    grafana: FakeGrafana, dashboards_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(grafana.url, dashboards_dir, "--folder", FOLDER, token="nope") == EXIT_IMPORT_FAILED
    err = capsys.readouterr().err
    assert "401 Unauthorized" in err and "check --token" in err
    assert grafana.state.dashboards == {} and grafana.state.folders == {}


def test_viewer_token_is_403_with_advice(
    grafana: FakeGrafana, dashboards_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(grafana.url, dashboards_dir, "--folder", FOLDER, token="viewer-token") == EXIT_IMPORT_FAILED
    err = capsys.readouterr().err
    assert "403 Forbidden" in err and "Editor role" in err
    assert grafana.state.dashboards == {} and grafana.state.folders == {}


def test_missing_datasource_is_404_and_nothing_is_saved(
    dashboards_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeGrafana(GrafanaState(datasources={})) as server:
        assert run(server.url, dashboards_dir) == EXIT_IMPORT_FAILED
        assert server.state.dashboards == {}
    err = capsys.readouterr().err
    assert "datasource uid 'prometheus' not found in Grafana (404)" in err
    assert "deploy/grafana/provisioning/datasources/prometheus.yaml" in err


def test_no_overwrite_reports_412_for_existing_dashboards(
    grafana: FakeGrafana, dashboards_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(grafana.url, dashboards_dir, "--folder", FOLDER) == EXIT_OK
    before = {uid: d["dashboard"]["version"] for uid, d in grafana.state.dashboards.items()}
    capsys.readouterr()
    assert run(grafana.url, dashboards_dir, "--folder", FOLDER, "--no-overwrite") == EXIT_IMPORT_FAILED
    err = capsys.readouterr().err
    assert err.count("412 Precondition Failed") == len(before)
    assert "[version-mismatch]" in err and "without --no-overwrite" in err
    assert {uid: d["dashboard"]["version"] for uid, d in grafana.state.dashboards.items()} == before


def test_name_exists_conflict_and_overwrite_replaces_it(
    grafana: FakeGrafana, dashboards_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    title = json.loads((dashboards_dir / "volatility-service.json").read_text())["title"]
    grafana.state.dashboards["hand-made"] = {
        "dashboard": {"id": 99, "uid": "hand-made", "title": title, "version": 3},
        "folderUid": "",
    }
    assert run(grafana.url, dashboards_dir, "--no-overwrite") == EXIT_IMPORT_FAILED
    err = capsys.readouterr().err
    total = len(list(dashboards_dir.glob("*.json")))
    assert "[name-exists]" in err and f"1 of {total} dashboard(s) not imported" in err
    assert run(grafana.url, dashboards_dir) == EXIT_OK
    assert "hand-made" not in grafana.state.dashboards
    assert grafana.state.dashboards["volatility-service"]["dashboard"]["title"] == title


def test_connection_refused_is_explained(dashboards_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # free a moment ago, with nobody listening
    assert run(f"http://127.0.0.1:{port}", dashboards_dir) == EXIT_IMPORT_FAILED
    err = capsys.readouterr().err
    assert "connection refused" in err and "Is Grafana running" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--dir", "dashboards"],  # no credentials
        ["--token", "t", "--user", "u", "--password", "p"],  # both kinds
        ["--user", "u"],  # password missing
    ],
)
def test_credential_usage_errors(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert main(["import-dashboards", "--grafana-url", "http://127.0.0.1:1", *argv]) == EXIT_USAGE


def test_bad_dashboard_file_stops_before_any_request(
    grafana: FakeGrafana, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    assert run(grafana.url, tmp_path) == EXIT_IMPORT_FAILED
    assert "broken.json: not a readable dashboard JSON file" in capsys.readouterr().err
    assert grafana.state.requests == []


def test_payload_matches_the_documented_shape(grafana: FakeGrafana, dashboards_dir: Path) -> None:
    """The fake rejects malformed bodies with 400; this checks what a successful body carried."""
    assert run(grafana.url, dashboards_dir, "--folder", FOLDER) == EXIT_OK
    for stored in grafana.state.dashboards.values():
        board = stored["dashboard"]
        assert isinstance(board["id"], int) and board["version"] == 1  # assigned by Grafana, not sent
        assert board["schemaVersion"] >= 36
