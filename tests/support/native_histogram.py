"""A tiny exporter serving Prometheus native histograms in the protobuf exposition format.

prometheus_client exposes no native histograms, and Prometheus 2.42 scrapes them only as protobuf
(``io.prometheus.client.MetricFamily``, length-delimited). The few messages needed are written here straight in
the protobuf wire format (varints, zigzag, length-delimited fields), so the test needs no generated code.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTENT_TYPE = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
HISTOGRAM_TYPE = 4  # MetricType.HISTOGRAM


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _bytes(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _uint(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def _sint(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(_zigzag(value))


def _double(field: int, value: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", value)


@dataclass(frozen=True)
class NativeHistogram:
    """One series: ``labels`` and its cumulative observation counts per bucket index (schema ``schema``)."""

    labels: dict[str, str]
    buckets: dict[int, int]  # bucket index -> count; schema 0: index i holds (2^(i-1), 2^i]
    total_sum: float
    schema: int = 0

    def encode(self) -> bytes:
        """``Metric`` with labels and a ``Histogram`` holding one positive span over the used bucket indexes."""
        label_pairs = b"".join(
            _bytes(1, _bytes(1, k.encode()) + _bytes(2, v.encode())) for k, v in sorted(self.labels.items())
        )
        histogram = _uint(1, sum(self.buckets.values())) + _double(2, self.total_sum) + _sint(5, self.schema)
        histogram += _double(6, 2.938735877055719e-39)  # Prometheus' default zero threshold
        if self.buckets:
            low, high = min(self.buckets), max(self.buckets)
            histogram += _bytes(12, _sint(1, low) + _uint(2, high - low + 1))  # BucketSpan(offset, length)
            previous = 0
            for index in range(low, high + 1):
                count = self.buckets.get(index, 0)
                histogram += _sint(13, count - previous)  # positive_delta: each count minus the previous one
                previous = count
        return label_pairs + _bytes(7, histogram)


def metric_family(name: str, series: list[NativeHistogram]) -> bytes:
    body = _bytes(1, name.encode()) + _bytes(2, b"test histogram") + _uint(3, HISTOGRAM_TYPE)
    body += b"".join(_bytes(4, s.encode()) for s in series)
    return _varint(len(body)) + body


@contextmanager
def serve(render: Callable[[float], bytes], host: str = "127.0.0.1") -> Iterator[int]:
    """Serve ``render(seconds since start)`` on ``/metrics`` of a free port; yields the port."""
    start = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = render(time.monotonic() - start)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
