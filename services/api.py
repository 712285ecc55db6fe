"""The prediction API: `POST /predict` scores feature rows; `/health`, `/version` and `/metrics` beside it.

Run with `python -m services.api` (settings from the environment, see services.config) or any ASGI server
pointed at `services.api:app`.

Metric decisions (the SLOs in slo/ depend on them):
- `volatility_api_requests_total{method,endpoint,status}` counts every request except `/metrics` scrapes and
  the `/admin/*` control plane; `endpoint` is the route template (`/predict`), or `unmatched` for unknown
  paths, and `status` the numeric code as text ("200", "422", "503"): `status=~"5.."` selects server errors.
- Client mistakes answer 4xx (422 invalid input or broken JSON, 413 body or `rows` over the limits) and are
  counted under `volatility_api_errors_total{error_type="validation"|"payload_too_large"|...}`; they never
  produce a 5xx, so they cannot burn the server-error SLO, and their answers always encode (echoed input is
  made printable). A client that leaves mid-request is `499 client_disconnect`, one whose body stalls
  `408 body_timeout`; a request refused at the connection limit is `503 overloaded`, a server error the SLO
  counts (services.api_middleware, services.api_server).
- `volatility_prediction_latency_seconds` observes every `POST /predict`, whatever its outcome (2xx, 4xx and
  5xx), from the first byte in to the last byte out: a user waiting for a 503 waited all the same.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import platform
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field, ValidationError

from services.api_input import (
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
from services.api_middleware import RequestMetricsMiddleware, TemplateRoute
from services.config import MAX_FAULT_LATENCY_SECONDS, Settings
from services.features import FEATURE_COLUMNS
from services.metrics import MULTIPROC_ENV, api_metrics, multiprocess_dir, render
from services.model import Model, ModelLoadError, load_model

log = logging.getLogger("services.api")


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _package_version() -> str:
    try:
        return metadata.version("volatility-slo")
    except metadata.PackageNotFoundError:
        return "0+unknown"


# ---------------------------------------------------------------------------------------------------------
# Model state and fault injection


@dataclass
class ModelState:
    """The served model, or why there is none (health 0, /predict 503)."""

    model: Model | None = None
    reason: str = "model not loaded yet"
    loaded_at: str | None = None


class FaultInjector:
    """Deterministic faults for end-to-end alert tests: exactly `error_rate` of requests fail, evenly spread.

    Only built when FAULT_INJECTION_ENABLED=1; per process (each uvicorn worker has its own).
    """

    def __init__(self, error_rate: float = 0.0, latency_seconds: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._debt = 0.0
        self.error_rate = error_rate
        self.latency_seconds = latency_seconds

    def configure(self, error_rate: float, latency_seconds: float) -> None:
        with self._lock:
            self.error_rate, self.latency_seconds, self._debt = error_rate, latency_seconds, 0.0

    def should_fail(self) -> bool:
        with self._lock:
            self._debt += self.error_rate
            if self._debt >= 1.0 - 1e-9:
                self._debt -= 1.0
                return True
            return False

    def as_dict(self) -> dict[str, float]:
        return {"error_rate": self.error_rate, "latency_seconds": self.latency_seconds}


ADMIN_MAX_BODY_BYTES = 4096  # a FaultSettings object is a few dozen bytes


class FaultSettings(BaseModel):
    error_rate: float = Field(0.0, ge=0.0, le=1.0, description="Share of /predict answered 500.")
    latency_seconds: float = Field(
        0.0, ge=0.0, le=MAX_FAULT_LATENCY_SECONDS, description="Delay added to each /predict."
    )


# ---------------------------------------------------------------------------------------------------------
# The application


ModelLoader = Callable[[str], Model]


def create_app(
    settings: Settings | None = None,
    *,
    registry: CollectorRegistry | None = None,
    loader: ModelLoader = load_model,
) -> FastAPI:
    """Build the API. Tests pass a fresh `registry` and their own settings; `app` below uses the defaults."""
    cfg = settings if settings is not None else Settings.from_env()
    metrics = api_metrics(registry if registry is not None else _default_registry())
    exposed_registry = registry if registry is not None else _default_registry()
    state = ModelState()
    faults = FaultInjector(cfg.fault_error_rate, cfg.fault_latency_seconds) if cfg.fault_injection_enabled else None
    metrics.set_model(None, None)

    def try_load() -> bool:
        try:
            model = loader(cfg.model_variant)
        except ModelLoadError as exc:
            state.model, state.reason, state.loaded_at = (
                None,
                f"model {cfg.model_variant!r} unavailable: {exc}",
                None,
            )
            metrics.set_model(None, None)
            log.error("%s", state.reason)
            return False
        state.model, state.reason, state.loaded_at = model, "", _now_iso()
        metrics.set_model(model.variant, model.version)
        log.info("serving model variant=%s version=%s", model.variant, model.version)
        return True

    async def keep_retrying() -> None:
        """A model that failed to load (not trained yet, registry down) is retried, never crash-looped."""
        while state.model is None:
            await asyncio.sleep(cfg.model_reload_interval_seconds)
            await asyncio.to_thread(try_load)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loaded = await asyncio.to_thread(try_load)
        retry = None
        if not loaded and cfg.model_reload_interval_seconds > 0:
            retry = asyncio.create_task(keep_retrying())
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

    app = FastAPI(
        title="volatility-slo prediction API",
        version=_package_version(),
        description="Scores 1-second feature rows for a coming volatility spike (see services.features).",
        lifespan=lifespan,
    )
    app.add_exception_handler(ApiError, api_error_response)
    app.add_exception_handler(RequestValidationError, validation_error_response)
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics, routes=app.router.routes)
    app.state.model_state = state
    app.state.metrics = metrics
    app.state.settings = cfg
    app.state.faults = faults
    error_responses: dict[int | str, dict[str, Any]] = {
        413: {"model": ErrorResponse, "description": "Body or rows over the limits."},
        422: {"model": ErrorResponse, "description": "Broken JSON or invalid rows; names row and field."},
        503: {"model": ErrorResponse, "description": "No model loaded; the message says why."},
    }

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses=error_responses,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": predict_request_schema(cfg.predict_max_rows)}},
            }
        },
    )
    async def predict(request: Request) -> Response:
        """Score rows of features (keys: FEATURE_COLUMNS) and return probabilities and 0/1 predictions."""
        body = await read_body_limited(request, cfg.predict_max_body_bytes)
        rows = extract_rows(parse_json_body(body), cfg.predict_max_rows)
        model = state.model
        if model is None:
            raise ApiError(503, "model_unavailable", state.reason, headers={"Retry-After": "30"})
        if faults is not None:
            if faults.latency_seconds:
                await asyncio.sleep(faults.latency_seconds)
            if faults.should_fail():
                raise ApiError(500, "injected", "injected fault (FAULT_INJECTION_ENABLED)")
        scores = [float(s) for s in model.predict_proba(rows)]
        if len(scores) != len(rows) or not all(math.isfinite(s) for s in scores):
            raise ApiError(500, "model_output", "model returned a non-finite or missing score")
        predictions = [int(s >= model.threshold) for s in scores]
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

    # FastAPI resolves dependencies on every call (~30 us, a third of this endpoint's own cost). /predict is
    # the hot path and takes nothing but the raw request, so a plain Starlette route placed first serves it;
    # the FastAPI route above (same handler) remains what OpenAPI documents and GET/405 falls through to.
    app.router.routes.insert(0, TemplateRoute("/predict", predict, methods=["POST"], name="predict"))

    @app.get("/health", responses={503: {"description": "No model loaded; `reason` says why."}})
    async def health() -> Response:
        """200 when /predict can answer, else 503 with the reason (mirrors volatility_api_health_status)."""
        model = state.model
        if model is None:
            return JSONResponse({"status": "unavailable", "reason": state.reason}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "model_variant": model.variant,
                "version": model.version,
                "loaded_at": state.loaded_at,
            }
        )

    @app.get("/version")
    async def version() -> dict[str, Any]:
        """What is running: API build, model variant and version, the feature columns it expects."""
        model = state.model
        return {
            "api_version": _package_version(),
            "model_variant": model.variant if model else cfg.model_variant,
            "model_version": model.version if model else None,
            "model_loaded": model is not None,
            "model_loaded_at": state.loaded_at,
            "threshold": model.threshold if model else None,
            "feature_columns": list(FEATURE_COLUMNS),
            "python_version": platform.python_version(),
        }

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        payload, content_type = render(exposed_registry)
        return Response(payload, media_type=content_type)

    def require_faults() -> FaultInjector:
        if faults is None:
            raise ApiError(
                403,
                "forbidden",
                "fault injection is disabled; start the API with FAULT_INJECTION_ENABLED=1"
                " (test and demo environments only)",
            )
        return faults

    admin_responses: dict[int | str, dict[str, Any]] = {
        403: {"model": ErrorResponse, "description": "Fault injection is disabled."},
    }
    admin_body_responses: dict[int | str, dict[str, Any]] = {
        **admin_responses,
        413: {"model": ErrorResponse, "description": f"Body over {ADMIN_MAX_BODY_BYTES} bytes."},
        422: {"description": "Body is not a valid FaultSettings object; `detail` names the field."},
    }

    @app.get("/admin/faults", responses=admin_responses)
    async def get_faults() -> dict[str, float]:
        """Current injected faults (403 unless FAULT_INJECTION_ENABLED=1)."""
        return require_faults().as_dict()

    @app.post(
        "/admin/faults",
        responses=admin_body_responses,
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
        injector = require_faults()
        raw = await read_body_limited(request, ADMIN_MAX_BODY_BYTES)
        try:
            body = FaultSettings.model_validate_json(raw)
        except ValidationError as exc:
            errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
            raise RequestValidationError(errors) from None
        injector.configure(body.error_rate, body.latency_seconds)
        log.warning("fault injection set: %s", injector.as_dict())
        return injector.as_dict()

    @app.delete("/admin/faults", responses=admin_responses)
    async def clear_faults() -> dict[str, float]:
        """Stop injecting faults (403 unless enabled)."""
        injector = require_faults()
        injector.configure(0.0, 0.0)
        return injector.as_dict()

    return app


def _default_registry() -> CollectorRegistry:
    from prometheus_client import REGISTRY

    return REGISTRY


_app: FastAPI | None = None
_app_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    """`services.api:app`, built on first use so importing this module has no side effects."""
    global _app
    if name == "app":
        with _app_lock:
            if _app is None:
                _app = create_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _prepare_multiprocess_dir(workers: int) -> Path | None:
    """Several workers need prometheus multiprocess mode; its directory must start empty.

    Returns the directory when this function created it (the caller removes it on exit).
    """
    directory = multiprocess_dir()
    created = None
    if directory is None and workers > 1:
        directory = tempfile.mkdtemp(prefix="volatility-api-metrics-")
        os.environ[MULTIPROC_ENV] = directory
        created = Path(directory)
    if directory is not None:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    return created


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the API with uvicorn; flags override API_HOST, API_PORT and API_WORKERS."""
    parser = argparse.ArgumentParser(prog="python -m services.api", description=__doc__.splitlines()[0])
    defaults = Settings()
    parser.add_argument(
        "--host",
        help=f"bind address (env API_HOST, default {defaults.api_host}: loopback only; 0.0.0.0 serves other hosts)",
    )
    parser.add_argument("--port", type=int, help=f"port (env API_PORT, default {defaults.api_port})")
    parser.add_argument(
        "--workers", type=int, help=f"uvicorn worker processes (env API_WORKERS, default {defaults.api_workers})"
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info").lower())
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    host = args.host or settings.api_host
    port = args.port if args.port is not None else settings.api_port
    workers = args.workers or settings.api_workers
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    created = _prepare_multiprocess_dir(workers)
    import uvicorn

    from services.api_server import GuardedHttpToolsProtocol, ServerLimits

    GuardedHttpToolsProtocol.limits = ServerLimits.from_settings(settings)  # workers re-read them from the env

    try:
        uvicorn.run(
            "services.api:app",
            host=host,
            port=port,
            workers=workers,
            log_level=args.log_level,
            access_log=False,
            http=GuardedHttpToolsProtocol,  # head/body deadlines, head size and connection limits
            timeout_keep_alive=settings.api_keepalive_timeout_seconds,
        )
    finally:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
