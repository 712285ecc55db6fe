"""An in-process HTTP server that enforces the part of Grafana's documented HTTP API the importer uses.

Grafana cannot be installed on these machines (not in Debian, PyPI or npm), so the importer is tested against
this contract, from Grafana's HTTP API reference (dashboard, folder, data source and authentication pages):

- Auth: ``Authorization: Bearer <service-account token>`` or ``Basic base64(user:password)``; anything else is
  401 ``{"message": "Unauthorized"}``. A Viewer may read but not write (403 ``{"message": ...}``).
- ``GET /api/folders`` lists ``[{id, uid, title}]``; ``POST /api/folders {uid?, title}`` creates one (Editor),
  409 when the uid or title exists; ``GET /api/folders/<uid>`` reads one (404 if missing).
- ``GET /api/datasources/uid/<uid>``: 200 with the datasource, 404 ``{"message": "Data source not found"}``;
  reading datasources needs the Editor role here (403 for a Viewer).
- ``POST /api/dashboards/db``: body ``{"dashboard": {... "title", "uid"?, "id"?, "version"? ...},
  "folderUid"? | "folderId"?, "overwrite"?: bool, "message"?: str}``. 400 for a malformed body (missing title,
  bad uid, both folder keys, unknown folder, non-bool overwrite); 404 ``not-found`` for an ``id`` that does
  not exist; 412 ``version-mismatch`` (same uid, other version, overwrite false) and 412 ``name-exists``
  (same title in the folder, other uid, overwrite false); 200 ``{id, uid, url, status, version, slug}``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
ROLES = {"Viewer": 0, "Editor": 1, "Admin": 2}
DASHBOARD_KEYS = {"dashboard", "folderUid", "folderId", "overwrite", "message"}


@dataclass
class GrafanaState:
    """What the fake Grafana holds; tests read it to check what the importer stored."""

    tokens: dict[str, str] = field(
        default_factory=lambda: {"admin-token": "Admin", "editor-token": "Editor", "viewer-token": "Viewer"}
    )
    users: dict[str, tuple[str, str]] = field(default_factory=lambda: {"admin": ("s3cret", "Admin")})
    datasources: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            "prometheus": {"id": 1, "uid": "prometheus", "type": "prometheus", "name": "Prometheus"}
        }
    )
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> folder
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> {"dashboard", "folderUid"}
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, role
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


class _Handler(BaseHTTPRequestHandler):
    state: GrafanaState

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    # -- plumbing
    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _role(self) -> str | None:
        header = self.headers.get("Authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme == "Bearer":
            return self.state.tokens.get(credentials)
        if scheme == "Basic":
            try:
                user, _, password = base64.b64decode(credentials).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            known = self.state.users.get(user)
            return known[1] if known and known[0] == password else None
        return None

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            raise ValueError("Content-Type must be application/json")
        return json.loads(self.rfile.read(length).decode())

    def _dispatch(self, method: str) -> None:
        role = self._role()
        with self.state.lock:
            self.state.requests.append((method, self.path, role or "-"))
        if role is None:
            self._send(401, {"message": "Unauthorized"})
            return
        path = self.path.split("?")[0]
        try:
            if method == "GET" and path == "/api/folders":
                self._send(
                    200,
                    [{"id": f["id"], "uid": f["uid"], "title": f["title"]} for f in self.state.folders.values()],
                )
            elif method == "GET" and path.startswith("/api/folders/"):
                folder = self.state.folders.get(path.rsplit("/", 1)[1])
                self._send(200, folder) if folder else self._send(404, {"message": "folder not found"})
            elif method == "POST" and path == "/api/folders":
                self._create_folder(role)
            elif method == "GET" and path.startswith("/api/datasources/uid/"):
                self._datasource(role, path.rsplit("/", 1)[1])
            elif method == "POST" and path == "/api/dashboards/db":
                self._save_dashboard(role)
            elif method == "GET" and path.startswith("/api/dashboards/uid/"):
                stored = self.state.dashboards.get(path.rsplit("/", 1)[1])
                if stored is None:
                    self._send(404, {"message": "Dashboard not found"})
                else:
                    self._send(200, {"dashboard": stored["dashboard"], "meta": {"folderUid": stored["folderUid"]}})
            else:
                self._send(404, {"message": "Not found"})
        except (ValueError, json.JSONDecodeError) as exc:
            self._send(400, {"message": f"bad request data: {exc}"})

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- endpoints
    def _create_folder(self, role: str) -> None:
        if ROLES[role] < ROLES["Editor"]:
            self._send(403, {"message": "Access denied"})
            return
        body = self._body()
        title = body.get("title") if isinstance(body, dict) else None
        if not isinstance(title, str) or not title:
            self._send(400, {"message": "folder title cannot be empty"})
            return
        uid = body.get("uid") or f"f{self.state.new_id()}"
        if not UID_RE.match(uid):
            self._send(400, {"message": "uid contains illegal characters"})
            return
        with self.state.lock:
            if uid in self.state.folders or any(f["title"] == title for f in self.state.folders.values()):
                self._send(409, {"message": "a folder with the same name or uid already exists"})
                return
            folder = {"id": self.state.new_id(), "uid": uid, "title": title, "url": f"/dashboards/f/{uid}/"}
            self.state.folders[uid] = folder
        self._send(200, folder)

    def _datasource(self, role: str, uid: str) -> None:
        if ROLES[role] < ROLES["Editor"]:
            self._send(403, {"message": "Access denied to data source"})
        elif uid in self.state.datasources:
            self._send(200, self.state.datasources[uid])
        else:
            self._send(404, {"message": "Data source not found"})

    def _save_dashboard(self, role: str) -> None:
        if ROLES[role] < ROLES["Editor"]:
            self._send(403, {"message": "Access denied to save dashboard"})
            return
        body = self._body()
        problem = _payload_problem(body, self.state)
        if problem:
            self._send(400, {"message": problem})
            return
        board = dict(body["dashboard"])
        folder_uid = body.get("folderUid") or ""
        overwrite = body.get("overwrite", False)
        uid = board.get("uid") or f"d{self.state.new_id()}"
        with self.state.lock:
            if board.get("id") is not None and not any(
                d["dashboard"]["id"] == board["id"] for d in self.state.dashboards.values()
            ):
                self._send(404, {"status": "not-found", "message": "Dashboard not found"})
                return
            existing = self.state.dashboards.get(uid)
            if existing and not overwrite and board.get("version") != existing["dashboard"]["version"]:
                self._send(
                    412,
                    {
                        "status": "version-mismatch",
                        "message": "The dashboard has been changed by someone else",
                    },
                )
                return
            same_title = [
                u
                for u, d in self.state.dashboards.items()
                if u != uid and d["folderUid"] == folder_uid and d["dashboard"]["title"] == board["title"]
            ]
            if same_title and not overwrite:
                self._send(
                    412,
                    {
                        "status": "name-exists",
                        "message": "A dashboard with the same name in the folder already exists",
                    },
                )
                return
            for other in same_title:
                del self.state.dashboards[other]
            board["uid"] = uid
            board["id"] = existing["dashboard"]["id"] if existing else self.state.new_id()
            board["version"] = existing["dashboard"]["version"] + 1 if existing else 1
            self.state.dashboards[uid] = {"dashboard": board, "folderUid": folder_uid}
        slug = _slug(board["title"])
        self._send(
            200,
            {
                "id": board["id"],
                "uid": uid,
                "url": f"/d/{uid}/{slug}",
                "status": "success",
                "version": board["version"],
                "slug": slug,
            },
        )


def _payload_problem(body: Any, state: GrafanaState) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
        return "body must be an object with a 'dashboard' object"
    unknown = set(body) - DASHBOARD_KEYS
    if unknown:
        return f"unknown fields: {sorted(unknown)}"
    board = body["dashboard"]
    if not isinstance(board.get("title"), str) or not board["title"].strip():
        return "Dashboard title cannot be empty"
    if "uid" in board and (not isinstance(board["uid"], str) or not UID_RE.match(board["uid"])):
        return "uid contains illegal characters"
    if "folderUid" in body and "folderId" in body:
        return "give folderUid or folderId, not both"
    folder_uid = body.get("folderUid")
    if folder_uid not in (None, "") and folder_uid not in state.folders:
        return "folder not found"
    if "overwrite" in body and not isinstance(body["overwrite"], bool):
        return "overwrite must be a boolean"
    if "message" in body and not isinstance(body["message"], str):
        return "message must be a string"
    return None


class FakeGrafana:
    """Start on 127.0.0.1 with a free port; ``url`` to talk to it, ``state`` to inspect it."""

    def __init__(self, state: GrafanaState | None = None) -> None:
        self.state = state or GrafanaState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-grafana", daemon=True
        )

    def __enter__(self) -> FakeGrafana:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
