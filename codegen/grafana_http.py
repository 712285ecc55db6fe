"""The importer's HTTP transport: one bounded request at a time, no redirects, credentials never printed.

Why not urllib: its timeout bounds each socket read, so a server sending a byte a second holds it for ever; it
follows a redirect to any host with the ``Authorization`` header (and turns a POST into a GET that "succeeds");
malformed answers surface as tracebacks. Here httpx sends; a total deadline (``asyncio.timeout``) bounds connect,
send and the whole answer; a 3xx is refused, never followed; the answer is capped at ``MAX_ANSWER_BYTES``; every
transport failure becomes a ``GrafanaImportError`` of one printable line. Credentials written into the URL are
split off (sent as Basic auth) and every address shown to a person is the one without them.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import ipaddress
import json
import re
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

MAX_ANSWER_BYTES = 8 * 1024 * 1024  # the largest answer used is the folder list (limit 1000): well under 1 MiB
SHOWN_CHARS = 300  # of anything a server says, in a message
TOKEN_RE = re.compile(r"[\x21-\x7e]+")  # a header value: visible ASCII, no space, no CR/LF to inject headers
MIN_MASKED = 4  # shorter "secrets" are guessable anyway, and masking them would garble every message
USERINFO_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?P<userinfo>[^/?#]*@)")


class GrafanaImportError(Exception):
    """An import step failed; the message is one line meant for the person running the command."""


def printable(text: str, limit: int | None = None) -> str:
    """``text`` with control and other invisible characters escaped, so no peer can forge lines or colours."""
    shown = text if limit is None or len(text) <= limit else text[:limit] + "…"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)


def mask_url(text: str) -> str:
    """The URL with any ``user:password@`` replaced by ``***@`` (works on text that is not a valid URL too)."""
    return USERINFO_RE.sub(lambda m: f"{m.group('scheme') or ''}***@", text, count=1)


@dataclass(frozen=True)
class Auth:
    """Service-account token (Bearer) or user and password (Basic), as Grafana's HTTP API accepts them."""

    token: str | None = None
    user: str | None = None
    password: str | None = None

    def header(self) -> str:
        if self.token:
            return f"Bearer {self.token}"
        return "Basic " + self._basic()

    def _basic(self) -> str:
        return base64.b64encode(f"{self.user or ''}:{self.password or ''}".encode()).decode("ascii")

    def secrets(self) -> tuple[str, ...]:
        """Every form in which these credentials could appear in text, longest first, for masking."""
        forms = (self.token,) if self.token else (self.password, self._basic() if self.password else None)
        return tuple(sorted((s for s in forms if s and len(s) >= MIN_MASKED), key=len, reverse=True))

    def problem(self) -> str | None:
        """Why these credentials cannot be sent (None when they can); never quotes them."""
        if self.token and (self.user or self.password):
            return "give either a token or a user and password, not both"
        if self.token:
            return None if TOKEN_RE.fullmatch(self.token) else "the token may hold visible ASCII characters only"
        if not (self.user and self.password):
            return "credentials required: --token T, or --user U --password P (or user:password@ in the URL)"
        if ":" in self.user:
            return "the user name cannot contain ':' (HTTP Basic authentication separates user and password by it)"
        return None


@dataclass(frozen=True)
class Endpoint:
    """Where Grafana answers, without credentials: ``base_url`` is ``origin`` plus an optional path prefix."""

    origin: str
    base_url: str
    host: str
    user: str | None = None  # from user:password@ in the URL given
    password: str | None = None

    @property
    def cleartext_to_remote(self) -> bool:
        """Credentials would cross a network unencrypted: plain http to a host that is not this machine."""
        if not self.origin.startswith("http://"):
            return False
        if self.host == "localhost" or self.host.endswith(".localhost"):
            return False
        try:
            return not ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return True


def parse_grafana_url(text: str) -> Endpoint:
    """Grafana's root URL split into address and credentials; ValueError with a masked message if unusable."""
    shown = printable(mask_url(text), SHOWN_CHARS)
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise ValueError(f"--grafana-url is not a valid URL (got {shown!r})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(
            f"--grafana-url must be http:// or https:// and a host, e.g. http://localhost:3000 (got {shown!r})"
        )
    if url.query or url.fragment:
        raise ValueError(f"--grafana-url must be Grafana's root URL, without ?query or #fragment (got {shown!r})")
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
    return Endpoint(origin, origin + url.path.rstrip("/"), url.host, url.username or None, url.password or None)


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: ``body`` is the parsed JSON, or None when ``is_json`` is false (empty, HTML, ...)."""

    method: str
    path: str
    status: int
    content_type: str
    body: Any
    is_json: bool


class GrafanaClient:
    """Sends one request at a time over a kept-alive connection; use as a context manager (it owns a loop)."""

    def __init__(
        self, endpoint: Endpoint, auth: Auth, timeout: float = 15.0, max_bytes: int = MAX_ANSWER_BYTES
    ) -> None:
        self.endpoint = endpoint
        self.auth = auth
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._runner = asyncio.Runner()
        self._http: httpx.AsyncClient | None = None

    @property
    def base_url(self) -> str:
        return self.endpoint.base_url

    def __enter__(self) -> GrafanaClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._http is not None:
            self._runner.run(self._http.aclose())
            self._http = None
        self._runner.close()

    def request(self, method: str, path: str, body: Any = None) -> Answer:
        """Send and read the whole answer within ``timeout`` seconds, or raise GrafanaImportError."""
        return self._runner.run(self._request(method, path, body))

    async def _request(self, method: str, path: str, body: Any) -> Answer:
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False, timeout=httpx.Timeout(self.timeout))
        headers = {"Authorization": self.auth.header(), "Accept": "application/json"}
        content = None if body is None else json.dumps(body).encode("utf-8")
        if content is not None:
            headers["Content-Type"] = "application/json"
        where = f"Grafana at {self.base_url}"
        what = f"{method} {path.split('?')[0]}"
        try:
            async with asyncio.timeout(self.timeout):
                request = self._http.build_request(method, self.base_url + path, headers=headers, content=content)
                response = await self._http.send(request, stream=True)
                try:
                    if 300 <= response.status_code < 400:
                        raise GrafanaImportError(self._redirect(response, what))
                    raw = await self._read(response, what)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            raise GrafanaImportError(
                f"{where} did not answer {what} within {self.timeout:g} s (--timeout bounds each whole request, "
                "however slowly the answer arrives): is Grafana overloaded, or is something else listening there?"
            ) from None
        except httpx.ConnectError as exc:
            raise GrafanaImportError(_unreachable(self.base_url, exc)) from None
        except (httpx.ProtocolError, httpx.DecodingError) as exc:
            raise GrafanaImportError(
                f"{where} broke HTTP answering {what} ({printable(str(exc), SHOWN_CHARS)}): is --grafana-url "
                "the address of Grafana (and http:// or https:// the scheme it speaks)?"
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise GrafanaImportError(
                f"the connection to {where} failed during {what}: {type(exc).__name__} "
                f"{printable(str(exc), SHOWN_CHARS)}"
            ) from None
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            return Answer(method, path, response.status_code, content_type, json.loads(raw), True)
        except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested past the parser's depth
            return Answer(method, path, response.status_code, content_type, None, False)

    async def _read(self, response: httpx.Response, what: str) -> bytes:
        """The (decoded) body, refused beyond ``max_bytes``: a peer cannot fill memory, compressed or not."""
        declared = response.headers.get("content-length", "")
        too_large = GrafanaImportError(
            f"Grafana at {self.base_url} answered {what} with more than {self.max_bytes // 1024 // 1024} MiB, "
            "larger than any Grafana API answer the import reads: is --grafana-url the address of Grafana?"
        )
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def _redirect(self, response: httpx.Response, what: str) -> str:
        location = response.headers.get("location", "")
        try:
            target = str(httpx.URL(self.base_url).join(location)) if location else "nowhere"
        except (httpx.InvalidURL, ValueError, TypeError):
            target = location
        return (
            f"Grafana at {self.base_url} answered {response.status_code} to {what}, a redirect to "
            f"{printable(mask_url(target), SHOWN_CHARS)}: slogen does not follow redirects (credentials must not "
            "travel to another address, and a redirected POST saves nothing); pass the address Grafana itself "
            "answers at as --grafana-url"
        )


def _unreachable(url: str, exc: BaseException) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
        ):
            return (
                f"cannot connect to Grafana at {url}: connection refused. Is Grafana running "
                "(e.g. `docker compose up -d grafana`) and is --grafana-url right?"
            )
        cause = cause.__cause__ or cause.__context__
    return f"cannot reach Grafana at {url}: {printable(str(exc), SHOWN_CHARS) or type(exc).__name__}"
