"""`slogen import-dashboards` against servers that lie, stall, redirect or break HTTP (real sockets, no mocks).

What must hold whatever the peer does: credentials never travel to another address and are never printed; no
redirect is followed; ``--timeout`` bounds each whole request, however slowly the answer arrives; an answer that
is not Grafana's documented JSON is a failure, never "imported"; every failure is exit 4 with one line on stderr.
"""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from codegen.cli import main
from codegen.exit_codes import EXIT_IMPORT_FAILED, EXIT_OK, EXIT_USAGE
from tests.codegen.grafana_fake import FakeGrafana
from tests.codegen.hostile_http import Chunk, HostileServer, Request, response, trickle

pytestmark = pytest.mark.timeout(60)
TOKEN = "glsa_secret-token-0123456789"
DATASOURCE = {"id": 1, "uid": "prometheus", "type": "prometheus", "name": "Prometheus"}


@pytest.fixture
def boards(tmp_path: Path) -> Path:
    """One small dashboard that queries the `prometheus` datasource: two requests per import."""
    board = {
        "uid": "d1",
        "title": "D1",
        "schemaVersion": 39,
        "panels": [{"type": "stat", "datasource": {"type": "prometheus", "uid": "prometheus"}}],
    }
    (tmp_path / "d1.json").write_text(json.dumps(board), encoding="utf-8")
    return tmp_path


def grafana_answer(request: Request) -> bytes:
    """What a real Grafana answers to the two requests an import of ``boards`` makes."""
    if request.method == "GET" and request.path == "/api/datasources/uid/prometheus":
        return response(200, DATASOURCE)
    if request.method == "POST" and request.path == "/api/dashboards/db":
        uid = json.loads(request.body)["dashboard"]["uid"]
        return response(200, {"id": 7, "uid": uid, "url": f"/d/{uid}/d1", "status": "success", "version": 1})
    return response(404, {"message": "Not found"})


def run(url: str, directory: Path, *extra: str) -> int:
    return main(["import-dashboards", "--grafana-url", url, "--token", TOKEN, "--dir", str(directory), *extra])


def one_error_line(capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    """The failure is one ``error:`` line on stderr, nothing claims success, no secret or control byte shows."""
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "imported" not in out, out
    assert TOKEN not in out + err
    assert all(ch.isprintable() for ch in lines[0]), repr(lines[0])
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# ---------------------------------------------------------------------------------------------------------
# Redirects: never followed, credentials never leave


@pytest.mark.parametrize(
    ("status", "method"), [(302, "POST"), (307, "POST"), (308, "POST"), (301, "GET"), (302, "GET"), (307, "GET")]
)
def test_redirect_to_another_origin_is_refused_and_credentials_stay_home(
    status: int, method: str, boards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The attacker's server answers like Grafana; it must never be contacted, let alone see the token."""
    with HostileServer(lambda r: [(0, grafana_answer(r))]) as attacker:

        def script(request: Request) -> Iterable[Chunk]:
            if request.method == method:
                yield 0, response(status, "", Location=f"{attacker.origin}{request.path}")
            else:
                yield 0, grafana_answer(request)

        with HostileServer(script) as grafana:
            assert run(grafana.origin, boards) == EXIT_IMPORT_FAILED
        assert attacker.requests == [], [r.headers.get("authorization") for r in attacker.requests]
    one_error_line(capsys, f"answered {status}", attacker.origin, "does not follow redirects")


@pytest.mark.parametrize("status", [301, 302, 303, 307])
def test_redirect_on_post_to_the_same_origin_is_an_error(
    status: int, boards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A POST turned into a GET that answers 200 was reported as "imported"; nothing was saved."""

    def script(request: Request) -> Iterable[Chunk]:
        if request.method == "POST":
            yield 0, response(status, "", Location="/api/dashboards/db/")
        elif request.path == "/api/dashboards/db/":
            uid = "d1"
            yield 0, response(200, {"id": 7, "uid": uid, "url": "/d/d1/d1", "status": "success", "version": 1})
        else:
            yield 0, grafana_answer(request)

    with HostileServer(script) as grafana:
        assert run(grafana.origin, boards) == EXIT_IMPORT_FAILED
        assert [(r.method, r.path) for r in grafana.requests] == [
            ("GET", "/api/datasources/uid/prometheus"),
            ("POST", "/api/dashboards/db"),
        ]
    one_error_line(capsys, f"answered {status}", "POST /api/dashboards/db")


def test_credentials_in_a_redirect_location_are_masked(boards: Path, capsys: pytest.CaptureFixture[str]) -> None:
    location = "http://mallory:hunter2@127.0.0.1:9/steal"
    with HostileServer(lambda r: [(0, response(302, "", Location=location))]) as grafana:
        assert run(grafana.origin, boards) == EXIT_IMPORT_FAILED
    line = one_error_line(capsys, "http://***@127.0.0.1:9/steal")
    assert "hunter2" not in line and "mallory" not in line


# ---------------------------------------------------------------------------------------------------------
# Answers that are not Grafana's


@pytest.mark.parametrize(
    "script_for",
    [
        pytest.param(lambda r: response(200, "<html><body>Sign in</body></html>", content_type="text/html"), id="html"),
        pytest.param(
            lambda r: (
                grafana_answer(r) if r.method == "GET" else response(200, "<html>ok</html>", content_type="text/html")
            ),
            id="html-on-save",
        ),
        pytest.param(lambda r: grafana_answer(r) if r.method == "GET" else response(200, {}), id="empty-object"),
        pytest.param(
            lambda r: grafana_answer(r) if r.method == "GET" else response(200, {"message": "ok", "status": "success"}),
            id="no-version",
        ),
        pytest.param(
            lambda r: (
                grafana_answer(r)
                if r.method == "GET"
                else response(200, {"id": 1, "uid": "other", "url": "/d/other/x", "status": "success", "version": 1})
            ),
            id="other-uid",
        ),
        pytest.param(
            lambda r: (
                grafana_answer(r)
                if r.method == "GET"
                else response(200, {"id": 1, "uid": "d1", "url": "/d/d1/x", "status": "success", "version": 0})
            ),
            id="version-0",
        ),
        pytest.param(lambda r: response(200, [DATASOURCE]), id="datasource-list"),
        pytest.param(lambda r: response(200, "[" * 200_000 + "]" * 200_000), id="nested-200k-deep"),
        pytest.param(lambda r: response(200, {**DATASOURCE, "uid": "not-prometheus"}), id="other-datasource"),
    ],
)
def test_a_200_that_is_not_grafanas_documented_answer_is_a_failure(
    script_for: object, boards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A login page, a proxy's page or a JSON of the wrong shape was "imported … (version 0)", exit 0."""
    with HostileServer(lambda r: [(0, script_for(r))]) as server:  # type: ignore[operator]
        assert run(server.origin, boards) == EXIT_IMPORT_FAILED
    one_error_line(capsys, "is --grafana-url the root URL of Grafana")


def test_folder_answers_are_checked_too(boards: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def script(request: Request) -> Iterable[Chunk]:
        if request.path.startswith("/api/folders"):
            yield 0, response(200, [{"name": "no uid or title"}])
        else:
            yield 0, grafana_answer(request)

    with HostileServer(script) as server:
        assert run(server.origin, boards, "--folder", "Volatility SLO") == EXIT_IMPORT_FAILED
        assert [r.method for r in server.requests] == ["GET"]
    one_error_line(capsys, "list folders")


# ---------------------------------------------------------------------------------------------------------
# Stalls: --timeout bounds the whole request


@pytest.mark.parametrize("where", ["status-line", "headers", "body"])
def test_a_trickling_server_cannot_outlive_the_timeout(
    where: str, boards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One byte every 0.05 s: every read succeeds, the answer never completes; the import gives up at --timeout."""
    body = json.dumps(DATASOURCE).encode() + b" " * 400
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n".encode()
    padding = b"X-Padding: " + b"a" * 400 + b"\r\n"

    def script(request: Request) -> Iterable[Chunk]:
        if where == "status-line":
            yield from trickle(head + b"\r\n" + body, 0.05)
        elif where == "headers":
            yield 0, head
            yield from trickle(padding + b"\r\n" + body, 0.05)
        else:
            yield 0, head + b"\r\n"
            yield from trickle(body, 0.05)

    timeout = 0.5  # ten bytes per timeout: a per-read timeout would never fire
    with HostileServer(script) as server:
        started = time.monotonic()
        assert run(server.origin, boards, "--timeout", str(timeout)) == EXIT_IMPORT_FAILED
        elapsed = time.monotonic() - started
    assert elapsed < timeout + 5, f"{elapsed:.1f} s for a {timeout} s timeout"  # the old client: 40 s and more
    one_error_line(capsys, "did not answer GET /api/datasources/uid/prometheus within 0.5 s")


def test_a_stall_after_some_saves_says_what_was_saved(boards: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first dashboard is saved, the second save never completes: the one line says 1 of 2, and to rerun."""
    second = json.loads((boards / "d1.json").read_text()) | {"uid": "d2", "title": "D2"}
    (boards / "d2.json").write_text(json.dumps(second), encoding="utf-8")

    def script(request: Request) -> Iterable[Chunk]:
        if request.method == "POST" and b'"uid": "d2"' in request.body:
            yield from trickle(b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 200, 0.05)
        else:
            yield 0, grafana_answer(request)

    with HostileServer(script) as server:
        assert run(server.origin, boards, "--timeout", "0.5") == EXIT_IMPORT_FAILED
    one_error_line(capsys, "did not answer POST /api/dashboards/db within 0.5 s", "1 of 2 dashboard(s) were saved")


# ---------------------------------------------------------------------------------------------------------
# Broken HTTP: one line, exit 4, never a traceback


HUGE = 1024 * 1024


@pytest.mark.parametrize(
    ("chunks", "fragment"),
    [
        pytest.param([b"HTTZ/9 banana\r\n\r\n"], "broke HTTP", id="garbage-status-line"),
        pytest.param([b"\x00\xff\x1b[2J" * 64], "broke HTTP", id="binary-garbage"),
        pytest.param(
            [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", b'{"uid": "pro'],
            "broke HTTP",
            id="truncated-body",
        ),
        pytest.param([b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * HUGE + b"\r\n\r\n"], "broke HTTP", id="1MB-header"),
        pytest.param([b""], "broke HTTP", id="closed-without-answer"),
        pytest.param(
            [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 67108864\r\n\r\n"]
            + [b" " * HUGE] * 64,
            "larger than",
            id="64MB-body",
        ),
        pytest.param(
            [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
            "broke HTTP",
            id="bad-chunk",
        ),
    ],
)
def test_broken_http_is_exit_4_with_one_line(
    chunks: list[bytes], fragment: str, boards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with HostileServer(lambda r: [(0, c) for c in chunks]) as server:
        assert run(server.origin, boards) == EXIT_IMPORT_FAILED
    one_error_line(capsys, fragment, server.origin)


def test_a_70kb_header_is_just_a_header(boards: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Over http.client's 64 KiB line limit (a traceback before), under the client's bound: a normal answer."""

    def script(request: Request) -> Iterable[Chunk]:
        head, _, rest = grafana_answer(request).partition(b"\r\n")
        yield 0, head + b"\r\nX-Big: " + b"a" * 70_000 + b"\r\n" + rest

    with HostileServer(script) as server:
        assert run(server.origin, boards) == EXIT_OK
    assert "imported d1" in capsys.readouterr().out


def test_the_real_command_prints_one_line_and_exits_4(boards: Path) -> None:
    """The installed entry point, not main(): exit status and stderr as a shell sees them."""
    slogen = Path(sys.executable).with_name("slogen")
    with HostileServer(lambda r: [(0, b"HTTZ/9 banana\r\n\r\n")]) as server:
        done = subprocess.run(
            [str(slogen), "import-dashboards", "--grafana-url", server.origin, "--token", TOKEN, "--dir", str(boards)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == EXIT_IMPORT_FAILED, done.stderr
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr and TOKEN not in done.stderr


def test_control_characters_from_the_server_are_escaped(boards: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A server's message cannot clear the terminal, recolour it or forge a second line."""
    said = {"message": "\x1b[2J\x1b[31mboom\r\nerror: all good, imported\x07"}
    with HostileServer(lambda r: [(0, response(500, said))]) as server:
        assert run(server.origin, boards) == EXIT_IMPORT_FAILED
    line = one_error_line(capsys, "answered 500", "boom")
    assert "\x1b" not in line and "\\x1b[2J" in line


# ---------------------------------------------------------------------------------------------------------
# Credentials: used, never printed


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    with FakeGrafana() as server:
        yield server


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_printed(
    grafana: FakeGrafana, boards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = grafana.url.replace("http://", "http://admin:s3cret@")
    assert main(["import-dashboards", "--grafana-url", url, "--dir", str(boards)]) == EXIT_OK
    assert {role for _, _, role in grafana.state.requests} == {"Admin"}
    out, err = capsys.readouterr()
    assert "s3cret" not in out + err and "admin:" not in out + err
    assert f"imported d1 -> {grafana.url}/d/d1/d1" in out


@pytest.mark.parametrize("where", ["refused", "401"])
def test_url_credentials_are_masked_in_errors(
    where: str, grafana: FakeGrafana, boards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if where == "refused":
        with HostileServer(lambda r: []) as gone:
            origin = gone.origin  # free a moment ago, nobody listens once closed
        url = origin.replace("http://", "http://admin:pw-in-url@")
    else:
        url = grafana.url.replace("http://", "http://admin:pw-in-url@")
    assert main(["import-dashboards", "--grafana-url", url, "--dir", str(boards)]) == EXIT_IMPORT_FAILED
    line = one_error_line(capsys)
    assert "pw-in-url" not in line and "admin:" not in line


@pytest.mark.parametrize(
    "url",
    [
        "ftp://admin:pw-in-url@127.0.0.1:3000",
        "http://admin:pw-in-url@",
        "admin:pw-in-url@127.0.0.1:3000",
        "http://[::1",
    ],
)
def test_a_bad_url_is_a_usage_error_that_masks_credentials(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-dashboards", "--grafana-url", url, "--token", TOKEN]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--grafana-url" in err and "pw-in-url" not in err and TOKEN not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--grafana-url", "http://u:p@127.0.0.1:1", "--token", TOKEN],  # URL credentials and a token
        ["--grafana-url", "http://u:p@127.0.0.1:1", "--user", "u", "--password", "p"],
        ["--grafana-url", "http://u@127.0.0.1:1"],  # user without password
        ["--grafana-url", "http://127.0.0.1:1", "--token", TOKEN + "\r\nX-Injected: 1"],
        ["--grafana-url", "http://127.0.0.1:1", "--token", "tøken"],
        ["--grafana-url", "http://127.0.0.1:1", "--user", "a:b", "--password", "p"],
    ],
)
def test_credential_shape_errors_are_usage_errors(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD", "GRAFANA_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["import-dashboards", *argv]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert TOKEN not in err and "X-Injected" not in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "-inf", "1e400", "soon"])
def test_timeout_must_be_a_positive_finite_number(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert not math.isfinite(float("1e400"))
    argv = ["import-dashboards", "--grafana-url", "http://127.0.0.1:1", "--token", TOKEN, "--timeout", value]
    assert main(argv) == EXIT_USAGE
    assert "--timeout" in capsys.readouterr().err


def test_plain_http_to_a_remote_host_is_warned_about(boards: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """TEST-NET-1 (RFC 5737) never answers: the import fails at the deadline, after the warning."""
    code = run("http://192.0.2.1:3000", boards, "--timeout", "0.5")
    assert code == EXIT_IMPORT_FAILED
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("warning: ") and "unencrypted" in err[0] and len(err) == 2, err


@pytest.mark.parametrize("credentials", [["--token", TOKEN], ["--user", "admin", "--password", "pw-0123456789"]])
def test_credentials_a_server_echoes_back_are_masked(
    credentials: list[str], boards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server (or a proxy's error page) that quotes the Authorization header back does not get it printed."""

    def script(request: Request) -> Iterable[Chunk]:
        scheme, _, value = request.headers["authorization"].partition(" ")
        decoded = base64.b64decode(value).decode() if scheme == "Basic" else ""
        yield 0, response(500, {"message": f"cannot use {scheme} {value} ({decoded})"})

    with HostileServer(script) as server:
        argv = ["import-dashboards", "--grafana-url", server.origin, *credentials, "--dir", str(boards)]
        assert main(argv) == EXIT_IMPORT_FAILED
        [request] = server.requests
    line = one_error_line(capsys, "cannot use")
    secret = request.headers["authorization"].split(" ", 1)[1]
    assert secret not in line and "pw-0123456789" not in line and "***" in line, line


def test_make_import_dashboards_never_echoes_the_url(grafana: FakeGrafana) -> None:
    """make prints each recipe line: the URL (which may carry user:password@) reaches slogen via the environment."""
    repo = Path(__file__).resolve().parents[2]
    url = grafana.url.replace("http://", "http://admin:s3cret@")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFANA_", "MAKE"))}
    bin_dir = Path(sys.executable).parent  # this interpreter's slogen; -o: the venv is not rebuilt
    done = subprocess.run(
        [
            "make",
            "-C",
            str(repo),
            "-o",
            ".venv/.installed",
            "import-dashboards",
            f"GRAFANA_URL={url}",
            f"BIN={bin_dir}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "s3cret" not in done.stdout + done.stderr
    assert len(grafana.state.dashboards) == len(list((repo / "dashboards").glob("*.json")))
