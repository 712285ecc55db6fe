"""The prediction API: `POST /predict` scores feature rows; `/health`, `/version` and `/metrics` beside it.

Where a request goes: the metrics middleware (services.api.middleware) times and counts it, the router finds one
of the routes below, and a handler answers from the `ApiState` that `create_app` stores in `app.state.api`. The
routes are defined once, at module level, and read everything they need from that state, so every app (the
served one, each test's) shares the same code. `/predict` is the hot path: its body is validated by the fast
validator in services.api.input, and its OpenAPI schema is derived from the same field list (FEATURE_COLUMNS).

Metric decisions (the SLOs in slo/ depend on them):
- `volatility_api_requests_total{method,endpoint,status}` counts every request except `/metrics` scrapes and
  the `/admin/*` control plane; `endpoint` is the route template (`/predict`), or `unmatched` for unknown
  paths, and `status` the numeric code as text ("200", "422", "503"): `status=~"5.."` selects server errors.
- Client mistakes answer 4xx (422 invalid input or broken JSON, 413 body or `rows` over the limits) and are
  counted under `volatility_api_errors_total{error_type="validation"|"payload_too_large"|...}`; they never
  produce a 5xx, so they cannot burn the server-error SLO, and their answers always encode (echoed input is
  made printable). A client that leaves mid-request is `499 client_disconnect`, one whose body stalls
  `408 body_timeout`; a request refused at the connection limit is `503 overloaded`, a server error the SLO
  counts (services.api.middleware, services.api.server).
- `volatility_prediction_latency_seconds` observes every `POST /predict`, whatever its outcome (2xx, 4xx and
  5xx), from the first byte in to the last byte out: a user waiting for a 503 waited all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import platform
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import REGISTRY, CollectorRegistry
from pydantic import ValidationError
from starlette.routing import Match, Route, request_response
from starlette.types import Receive, Scope, Send

from services.api.faults import ADMIN_MAX_BODY_BYTES, FaultInjector, FaultSettings
from services.api.input import (
    ApiError,
    ErrorResponse,
    PredictResponse,
    api_error_response,
    extract_rows,
    parse_json_body,
    predict_request_schema,
    read_body_limited,
    validation_error_response,
)
from services.api.middleware import RequestMetricsMiddleware
from services.metrics import ApiMetrics, api_metrics, multiprocess_dir, render
from services.ml.features import FEATURE_COLUMNS
from services.ml.model import Model, ModelLoadError, is_spike, load_model
from services.settings import Settings

log = logging.getLogger("services.api")

ModelLoader = Callable[[str], Model]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _package_version() -> str:
    try:
        return metadata.version("volatility-slo")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass
class ApiState:
    """Everything the handlers read: settings, metrics, the served model (or why there is none), faults."""

    settings: Settings
    metrics: ApiMetrics
    registry: CollectorRegistry  # what /metrics exposes
    loader: ModelLoader
    faults: FaultInjector | None
    model: Model | None = None
    reason: str = "model not loaded yet"  # why there is no model (health 0, /predict 503)
    loaded_at: str | None = None

    def try_load(self) -> bool:
        """Load the configured variant; on failure keep serving degraded with the reason."""
        variant = self.settings.model_variant
        try:
            model = self.loader(variant)
        except ModelLoadError as exc:
            self.model, self.reason, self.loaded_at = None, f"model {variant!r} unavailable: {exc}", None
            self.metrics.set_model(None, None)
            log.error("%s", self.reason)
            return False
        self.model, self.reason, self.loaded_at = model, "", _now_iso()
        self.metrics.set_model(model.variant, model.version)
        log.info("serving model variant=%s version=%s", model.variant, model.version)
        return True

    async def keep_retrying(self) -> None:
        """A model that failed to load (not trained yet, registry down) is retried, never crash-looped."""
        while self.model is None:
            await asyncio.sleep(self.settings.model_reload_interval_seconds)
            await asyncio.to_thread(self.try_load)


def api_state(request: Request) -> ApiState:
    """The state of the app serving `request` (create_app stores it in `app.state.api`)."""
    state: ApiState = request.app.state.api
    return state


# ---------------------------------------------------------------------------------------------------------
# Routes


class FastRoute(APIRoute):
    """A route FastAPI documents like any other, served as a plain Starlette route.

    FastAPI resolves dependencies on every call (~30 us, a third of /predict's own cost); a handler that takes
    nothing but the raw request does not need it, so this route calls the handler directly, exactly as
    Starlette's `Route` would, and still records itself in scope["route"] for the metrics' endpoint label.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.app = request_response(endpoint)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = Route.matches(self, scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await Route.handle(self, scope, receive, send)


router = APIRouter()

_PREDICT_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "Body or rows over the limits."},
    422: {"model": ErrorResponse, "description": "Broken JSON or invalid rows; names row and field."},
    503: {"model": ErrorResponse, "description": "No model loaded; the message says why."},
}


async def predict(request: Request) -> Response:
    """Score rows of features (keys: FEATURE_COLUMNS) and return probabilities and 0/1 predictions."""
    state: ApiState = request.app.state.api
    cfg = state.settings
    body = await read_body_limited(request, cfg.predict_max_body_bytes)
    rows = extract_rows(parse_json_body(body), cfg.predict_max_rows)
    model = state.model
    if model is None:
        raise ApiError(503, "model_unavailable", state.reason, headers={"Retry-After": "30"})
    faults = state.faults
    if faults is not None:
        if faults.latency_seconds:
            await asyncio.sleep(faults.latency_seconds)
        if faults.should_fail():
            raise ApiError(500, "injected", "injected fault (FAULT_INJECTION_ENABLED)")
    scores = [float(s) for s in model.predict_proba(rows)]
    if len(scores) != len(rows) or not all(math.isfinite(s) for s in scores):
        raise ApiError(500, "model_output", "model returned a non-finite or missing score")
    threshold = model.threshold
    predictions = [int(is_spike(s, threshold)) for s in scores]
    metrics = state.metrics
    ones = sum(predictions)
    if ones:
        metrics.predictions.labels(prediction="1").inc(ones)
    if len(predictions) - ones:
        metrics.predictions.labels(prediction="0").inc(len(predictions) - ones)
    for score in scores:
        metrics.probability.observe(score)
    payload = {
        "scores": scores,
        "predictions": predictions,
        "model_variant": model.variant,
        "version": model.version,
        "ts": _now_iso(),
    }
    return Response(orjson.dumps(payload), media_type="application/json")


router.add_api_route(
    "/predict",
    predict,
    methods=["POST"],
    route_class_override=FastRoute,
    response_model=PredictResponse,
    responses=_PREDICT_ERRORS,
)


@router.get("/health", responses={503: {"description": "No model loaded; `reason` says why."}})
async def health(request: Request) -> Response:
    """200 when /predict can answer, else 503 with the reason (mirrors volatility_api_health_status)."""
    state = api_state(request)
    model = state.model
    if model is None:
        return JSONResponse({"status": "unavailable", "reason": state.reason}, status_code=503)
    return JSONResponse(
        {"status": "ok", "model_variant": model.variant, "version": model.version, "loaded_at": state.loaded_at}
    )


@router.get("/version")
async def version(request: Request) -> dict[str, Any]:
    """What is running: API build, model variant and version, the feature columns it expects."""
    state = api_state(request)
    model = state.model
    return {
        "api_version": _package_version(),
        "model_variant": model.variant if model else state.settings.model_variant,
        "model_version": model.version if model else None,
        "model_loaded": model is not None,
        "model_loaded_at": state.loaded_at,
        "threshold": model.threshold if model else None,
        "feature_columns": list(FEATURE_COLUMNS),
        "python_version": platform.python_version(),
    }


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    payload, content_type = render(api_state(request).registry)
    return Response(payload, media_type=content_type)


def require_faults(request: Request) -> FaultInjector:
    faults = api_state(request).faults
    if faults is None:
        raise ApiError(
            403,
            "forbidden",
            "fault injection is disabled; start the API with FAULT_INJECTION_ENABLED=1"
            " (test and demo environments only)",
        )
    return faults


_ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "Fault injection is disabled."},
}
_ADMIN_BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ADMIN_ERRORS,
    413: {"model": ErrorResponse, "description": f"Body over {ADMIN_MAX_BODY_BYTES} bytes."},
    422: {"description": "Body is not a valid FaultSettings object; `detail` names the field."},
}


@router.get("/admin/faults", responses=_ADMIN_ERRORS)
async def get_faults(request: Request) -> dict[str, float]:
    """Current injected faults (403 unless FAULT_INJECTION_ENABLED=1)."""
    return require_faults(request).as_dict()


@router.post(
    "/admin/faults",
    responses=_ADMIN_BODY_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": FaultSettings.model_json_schema()}},
        }
    },
)
async def set_faults(request: Request) -> dict[str, float]:
    """Set injected faults for /predict: error share and added latency (403 unless enabled).

    The body is read here, after the 403 check and within a size bound, not by FastAPI before either.
    """
    injector = require_faults(request)
    raw = await read_body_limited(request, ADMIN_MAX_BODY_BYTES)
    try:
        body = FaultSettings.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
    injector.configure(body.error_rate, body.latency_seconds)
    log.warning("fault injection set: %s", injector.as_dict())
    return injector.as_dict()


@router.delete("/admin/faults", responses=_ADMIN_ERRORS)
async def clear_faults(request: Request) -> dict[str, float]:
    """Stop injecting faults (403 unless enabled)."""
    injector = require_faults(request)
    injector.configure(0.0, 0.0)
    return injector.as_dict()


# ---------------------------------------------------------------------------------------------------------
# The application


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the model at start (retrying in the background if it fails); mark the worker dead at exit."""
    state: ApiState = app.state.api
    loaded = await asyncio.to_thread(state.try_load)
    retry = None
    if not loaded and state.settings.model_reload_interval_seconds > 0:
        retry = asyncio.create_task(state.keep_retrying())
    try:
        yield
    finally:
        if retry is not None:
            retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retry
        if multiprocess_dir() is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def create_app(
    settings: Settings | None = None,
    *,
    registry: CollectorRegistry | None = None,
    loader: ModelLoader | None = None,
) -> FastAPI:
    """Build the API. Tests pass a fresh `registry` and their own settings; `python -m services.api` the defaults
    (uvicorn calls it as a factory in each worker)."""
    cfg = settings if settings is not None else Settings.from_env()
    exposed = registry if registry is not None else REGISTRY
    metrics = api_metrics(exposed)
    faults = FaultInjector(cfg.fault_error_rate, cfg.fault_latency_seconds) if cfg.fault_injection_enabled else None
    if loader is None:  # the configured variant from MLFLOW_TRACKING_URI or MODEL_PATH of these settings
        loader = functools.partial(load_model, settings=cfg)
    state = ApiState(settings=cfg, metrics=metrics, registry=exposed, loader=loader, faults=faults)
    metrics.set_model(None, None)

    app = FastAPI(
        title="volatility-slo prediction API",
        version=_package_version(),
        description="Scores 1-second feature rows for a coming volatility spike (see services.ml.features).",
        lifespan=lifespan,
    )
    app.state.api = state
    app.state.metrics = metrics  # the server guard (services.api.server) counts its refusals here
    app.add_exception_handler(ApiError, api_error_response)
    app.add_exception_handler(RequestValidationError, validation_error_response)
    # The route objects themselves, ahead of FastAPI's /docs routes so /predict matches first; not
    # `include_router`: FastAPI wraps an included router in a layer that resolves each route's effective
    # context on every request, which /predict's hot path does not need.
    app.router.routes[:0] = router.routes
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics, routes=app.router.routes)

    def openapi() -> dict[str, Any]:
        """FastAPI's schema, with /predict's body: the fast validator's contract, bounded by PREDICT_MAX_ROWS."""
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            schema["paths"]["/predict"]["post"]["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": predict_request_schema(cfg.predict_max_rows)}},
            }
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
    return app
