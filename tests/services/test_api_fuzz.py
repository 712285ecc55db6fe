"""No input makes the API answer 5xx: schemathesis fuzzes the OpenAPI schema, hypothesis the raw bytes.

Client mistakes must be 4xx so they never burn the server-error SLO; a 500 here is a bug in the API.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.api import create_app
from services.config import Settings
from services.features import FEATURE_COLUMNS

REGISTRY = CollectorRegistry()  # one app for the whole module: schemathesis keeps its lifespan running
APP = create_app(Settings(model_variant="baseline", predict_max_rows=50), registry=REGISTRY)
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)


@pytest.mark.timeout(120)
@SCHEMA.parametrize()
@FUZZ
def test_schema_driven_inputs_never_yield_5xx(case: Any) -> None:
    case.call_and_validate(
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=30,
)
feature_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),  # beyond float range
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)
rows_like = st.lists(
    st.fixed_dictionaries(
        {name: feature_values for name in FEATURE_COLUMNS},
        optional={"extra": feature_values, "product_id": st.text(max_size=8)},
    ),
    min_size=0,
    max_size=60,
)


@pytest.fixture(scope="module")
def client() -> Any:
    with TestClient(APP) as test_client:
        yield test_client


@pytest.mark.timeout(120)
@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_bodies_get_4xx_not_5xx(client: TestClient, body: bytes) -> None:
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code in (200, 413, 422), response.text
    if response.status_code != 200:
        assert response.json()["message"]


@pytest.mark.timeout(120)
@FUZZ
@given(rows=rows_like)
def test_nearly_valid_rows_are_scored_or_rejected_by_name(client: TestClient, rows: list[dict[str, Any]]) -> None:
    """Every feature present, values of any type: NaN/inf (as JSON literals), strings, null, huge numbers."""
    response = client.post("/predict", content=json.dumps({"rows": rows}).encode())
    assert response.status_code in (200, 413, 422), response.text
    body = response.json()
    if response.status_code == 200:
        assert len(body["scores"]) == len(rows) and all(0.0 <= s <= 1.0 for s in body["scores"])
    elif response.status_code == 422 and rows:
        assert body["message"].startswith(("rows[", "body", "rows:")), body["message"]


# Hostile text: lone surrogates included (legal in JSON text as `\udXXX` escapes, not encodable as UTF-8). A
# surrogate is followed by "." so that two in a row do not make a valid pair, which a decoder would join.
lone_surrogates = st.integers(0xD800, 0xDFFF).map(lambda code: chr(code) + ".")
hostile_text = st.lists(st.characters(exclude_categories=()) | lone_surrogates, max_size=6).map("".join)
hostile_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=20,
)
hostile_rows = st.lists(
    st.dictionaries(st.sampled_from(FEATURE_COLUMNS) | hostile_text, hostile_json, max_size=len(FEATURE_COLUMNS) + 2),
    max_size=4,
)
hostile_bodies = st.one_of(
    st.binary(max_size=200),
    hostile_json.map(json.dumps),  # ensure_ascii: surrogates travel as escapes, NaN/Infinity as literals
    hostile_rows.map(lambda rows: json.dumps({"rows": rows})),
    st.dictionaries(hostile_text, hostile_json, max_size=3).map(lambda extra: json.dumps({"rows": [], **extra})),
    # the places an error answer echoes: an unknown top-level key, an unknown feature name
    hostile_text.map(lambda key: json.dumps({key: 1})),
    hostile_text.map(lambda key: json.dumps({"rows": [{key: 0.0}]})),
).map(lambda body: body if isinstance(body, bytes) else body.encode())
header_values = st.binary(max_size=40).map(lambda raw: bytes(b for b in raw if b >= 0x20 and b != 0x7F))
hostile_headers = st.dictionaries(
    st.sampled_from(["content-type", "accept", "content-encoding", "accept-encoding", "x-request-id", "cookie"]),
    header_values
    | st.sampled_from([b"application/json", b"text/plain", b"gzip", b"application/json; charset=latin-1"]),
    max_size=4,
)


@pytest.mark.timeout(120)
@FUZZ
@given(
    target=st.just(("POST", "/predict"))
    | st.tuples(
        st.sampled_from(["POST", "GET", "PUT", "DELETE"]),
        st.sampled_from(["/predict", "/health", "/version", "/admin/faults", "/nowhere"]),
    ),
    body=hostile_bodies,
    headers=hostile_headers,
)
def test_any_request_gets_a_non_5xx_answer_that_encodes(
    client: TestClient, target: tuple[str, str], body: bytes, headers: dict[str, bytes]
) -> None:
    """Whatever the body and headers, the answer is < 500 and well-formed UTF-8 (JSON when it says so)."""
    method, path = target
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code < 500, response.text
    text = response.content.decode("utf-8")  # strict: an answer that echoes bad input must still encode
    if response.headers.get("content-type", "").startswith("application/json"):
        json.loads(text)
    server_errors = [
        sample
        for family in REGISTRY.collect()
        if family.name == "volatility_api_requests"
        for sample in family.samples
        if sample.labels.get("status", "").startswith("5")
    ]
    assert not server_errors, server_errors
