"""What `POST /predict` accepts, and the 4xx with a reason that everything else gets."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from services.api_middleware import ERROR_TYPE_KEY
from services.features import FEATURE_COLUMNS, FeatureError, validate_feature_row
from services.strict_json import loads_strict

_MAX_REPORTED_ERRORS = 20


# ---------------------------------------------------------------------------------------------------------
# Errors


class ApiError(Exception):
    """A request that cannot be served; rendered as JSON `{"detail": ..., "message": ...}`."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        detail: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        if detail is None:
            detail = [{"loc": ["body"], "msg": message.partition(": ")[2] or message, "type": error_type}]
        self.detail = detail
        self.headers = dict(headers or {})


def printable(value: Any) -> Any:
    """`value` as JSON any encoder accepts: a lone surrogate becomes its `\\udXXX` text, NaN/inf their name.

    Error bodies echo the client's own input (an unknown key, a bad value); `"\\ud800"` is legal JSON text but
    cannot be encoded as UTF-8, and an error answer that fails to render would be a 500 for bad input.
    """
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, bool | int | None):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {printable(str(key)): printable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [printable(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return printable(str(value))


class SafeJSONResponse(JSONResponse):
    """A JSONResponse that always renders: content it cannot encode is made `printable` first."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError; NaN is refused with ValueError
            return super().render(printable(content))


def api_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    request.scope[ERROR_TYPE_KEY] = exc.error_type
    return SafeJSONResponse({"detail": exc.detail, "message": exc.message}, status_code=exc.status, headers=exc.headers)


def validation_error_response(request: Request, exc: Exception) -> Response:
    """FastAPI's 422 for its own routes (/admin/faults), rendered so that echoed input can never make it a 500."""
    assert isinstance(exc, RequestValidationError)
    request.scope[ERROR_TYPE_KEY] = "validation"
    detail = jsonable_encoder(exc.errors(), custom_encoder={bytes: printable})
    return SafeJSONResponse({"detail": detail}, status_code=422)


# ---------------------------------------------------------------------------------------------------------
# Request parsing and validation (pure functions: the fuzz and unit tests drive them through HTTP)


def parse_json_body(body: bytes) -> Any:
    """Decode a JSON body strictly: NaN/Infinity literals and absurd nesting are client errors, not 500s."""
    if not body:
        raise ApiError(422, "validation", "body: empty; expected a JSON object with 'rows'")
    try:
        return loads_strict(body)
    except RecursionError:
        raise ApiError(422, "validation", "body: JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ApiError(422, "validation", f"body: broken JSON ({exc})") from None


def _feature_error_entry(index: int, error: FeatureError) -> dict[str, Any]:
    """Turn "field: problem" from the feature module into a FastAPI-style error naming row and field."""
    text = str(error)
    field, sep, problem = text.partition(": ")
    if not sep:
        field, problem = "", text
    loc: list[Any] = ["body", "rows", index]
    if field and field != "row":
        loc.append(field)
    return {"loc": loc, "msg": problem, "type": "invalid_feature"}


def _loc_text(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc[1:]:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def extract_rows(payload: Any, max_rows: int) -> list[dict[str, float]]:
    """Validated feature rows from a decoded body, or ApiError(422/413) naming every bad row and field."""
    if not isinstance(payload, dict):
        raise ApiError(422, "validation", f"body: expected a JSON object with 'rows', got {type(payload).__name__}")
    unknown = sorted(str(k) for k in payload if k != "rows")
    if unknown:
        raise ApiError(
            422,
            "validation",
            f'{unknown[0]}: unknown field; the body is {{"rows": [...]}}',
            [{"loc": ["body", unknown[0]], "msg": "unknown field", "type": "extra_forbidden"}],
        )
    rows = payload.get("rows")
    if rows is None:
        raise ApiError(
            422,
            "validation",
            "rows: missing",
            [{"loc": ["body", "rows"], "msg": "missing", "type": "missing"}],
        )
    if not isinstance(rows, list):
        raise ApiError(422, "validation", f"rows: expected an array of feature objects, got {type(rows).__name__}")
    if not rows:
        raise ApiError(422, "validation", "rows: empty; send at least one row")
    if len(rows) > max_rows:
        raise ApiError(413, "payload_too_large", f"rows: {len(rows)} rows exceed the limit of {max_rows} per request")
    validated: list[dict[str, float]] = []
    errors: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        try:
            validated.append(validate_feature_row(row))
        except FeatureError as exc:
            errors.append(_feature_error_entry(index, exc))
        except (OverflowError, TypeError, ValueError) as exc:  # the feature module's contract is FeatureError
            errors.append({"loc": ["body", "rows", index], "msg": f"invalid row ({exc})", "type": "invalid_feature"})
    if errors:
        first = errors[0]
        message = f"{_loc_text(first['loc'])}: {first['msg']}"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more invalid row(s))"
        raise ApiError(422, "validation", message, errors[:_MAX_REPORTED_ERRORS])
    return validated


async def read_body_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds `limit` bytes (never buffered beyond)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "payload_too_large", f"body: {declared} bytes exceed the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "payload_too_large", f"body: more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def predict_request_schema(max_rows: int) -> dict[str, Any]:
    """OpenAPI schema of the /predict body, built from FEATURE_COLUMNS so it can never drift from them."""
    return {
        "type": "object",
        "required": ["rows"],
        "additionalProperties": False,
        "properties": {
            "rows": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_rows,
                "items": {
                    "type": "object",
                    "required": list(FEATURE_COLUMNS),
                    "additionalProperties": False,
                    "properties": {name: {"type": "number"} for name in FEATURE_COLUMNS},
                },
            }
        },
    }


class PredictResponse(BaseModel):
    scores: list[float] = Field(description="Spike probability per row, in request order.")
    predictions: list[int] = Field(description="1 when score >= the model's threshold, else 0.")
    model_variant: str
    version: str
    ts: str = Field(description="ISO-8601 UTC time of the answer.")


class ErrorResponse(BaseModel):
    detail: list[dict[str, Any]]
    message: str
