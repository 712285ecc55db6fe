"""A loopback TCP proxy that can be cut and restored: a broker "disappears" without losing its memory.

Tansu keeps its data in memory, so killing it to simulate an outage also destroys the messages whose survival
a test wants to check. Clients that reach the broker through this proxy (the broker advertises the proxy's
address) see exactly what they would see during a network partition or a broker crash: established
connections reset, new ones refused; `restore()` lets them reconnect to the same broker, data intact.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class TcpProxy:
    """Forward 127.0.0.1:`listen_port` to `target_host`:`target_port` in a background thread."""

    def __init__(self, listen_port: int, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.listen_port = listen_port
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._loop, name=f"tcp-proxy-{listen_port}", daemon=True)
        self.connections_accepted = 0

    def start(self) -> TcpProxy:
        self._open_listener()
        self._thread.start()
        return self

    def cut(self) -> None:
        """Reset every connection and refuse new ones (the broker looks dead)."""
        with self._lock:
            if self._listener is not None:
                self._selector.unregister(self._listener)
                self._listener.close()
                self._listener = None
            for sock in list(self._pairs):
                self._drop(sock)
        self._wake()

    def restore(self) -> None:
        """Accept connections again."""
        with self._lock:
            if self._listener is None:
                self._open_listener_locked()
        self._wake()

    def close(self) -> None:
        self.cut()
        self._stop.set()
        self._wake()
        self._thread.join(5)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _open_listener(self) -> None:
        with self._lock:
            self._open_listener_locked()

    def _open_listener_locked(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.listen_port))
        listener.listen(64)
        listener.setblocking(False)
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, "accept")

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _drop(self, sock: socket.socket) -> None:
        peer = self._pairs.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            self._pairs.pop(s, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(s)
            with contextlib.suppress(OSError):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            events = self._selector.select(timeout=0.5)
            with self._lock:
                for key, _mask in events:
                    if key.data == "wake":
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                    elif key.data == "accept":
                        self._accept()
                    elif key.fileobj in self._pairs:
                        self._forward(key.fileobj)

    def _accept(self) -> None:
        if self._listener is None:
            return
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            client.close()
            return
        for s in (client, upstream):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._pairs[client] = upstream
        self._pairs[upstream] = client
        self._selector.register(client, selectors.EVENT_READ, "data")
        self._selector.register(upstream, selectors.EVENT_READ, "data")
        self.connections_accepted += 1

    def _forward(self, source: socket.socket) -> None:
        sink = self._pairs.get(source)
        try:
            data = source.recv(256 * 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data or sink is None:
            self._drop(source)
            return
        try:
            sink.settimeout(5.0)  # a stalled peer must not wedge the proxy thread forever
            sink.sendall(data)
            sink.setblocking(False)
        except OSError:
            self._drop(source)
