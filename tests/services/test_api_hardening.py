"""Attacks on the API, the way they failed: bad input that broke the error answer, clients that leave mid-body,
slow or huge clients on a real uvicorn process (real sockets, its own open-file limit).

What must hold: bad input is 4xx and the answer always encodes; a client that leaves is not a server error;
slowloris, stalled bodies and huge heads are cut off by deadlines and bounds, `/health` keeps answering, and a
request the server has no room for gets a 503 that the errors SLO counts.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from services.api import create_app
from services.config import Settings
from stack.processes import ManagedProcess
from tests.support import free_port, http_get, wait_http_ok

HOST = "127.0.0.1"

# ---------------------------------------------------------------------------------------------------------
# Bad input: 4xx, and the answer always encodes (a lone surrogate is legal JSON text but not UTF-8)


@pytest.mark.parametrize(
    ("path", "raw", "echoed"),
    [
        ("/predict", rb'{"\ud800": 1}', "\\ud800"),  # unknown top-level key, echoed in the message
        ("/predict", rb'{"rows": [{"\udfff": 1}]}', "\\udfff"),  # unknown feature name
        ("/predict", rb'{"rows": [{"rv_60s": 1}], "x\udc80y": 2}', "x\\udc80y"),
        ("/admin/faults", rb'{"error_rate": "\ud800"}', "\\ud800"),  # FastAPI's own 422 echoes the input
    ],
)
def test_lone_surrogates_get_4xx_with_an_encodable_answer(
    registry: CollectorRegistry, path: str, raw: bytes, echoed: str
) -> None:
    app = create_app(Settings(model_variant="baseline", fault_injection_enabled=True), registry=registry)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    body = json.loads(response.content.decode("utf-8"))  # strict UTF-8: the answer itself is well-formed
    shown = body["message"] if path == "/predict" else body["detail"][0]["input"]
    assert echoed in shown  # the client sees what it sent, as escape text
    if path == "/predict":
        sample = registry.get_sample_value
        labels = {"method": "POST", "endpoint": "/predict"}
        assert sample("volatility_api_requests_total", {**labels, "status": "422"}) == 1
        assert sample("volatility_api_requests_total", {**labels, "status": "500"}) is None
