"""`python -m services.api`: serve the API with uvicorn, one or several workers (settings: services.settings)."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from services.metrics import MULTIPROC_ENV, multiprocess_dir
from services.settings import DEFAULTS, Settings


def _prepare_multiprocess_dir(workers: int) -> Path | None:
    """Several workers need prometheus multiprocess mode; its directory must start empty.

    Returns the directory when this function created it (the caller removes it on exit).
    """
    directory = multiprocess_dir()
    created = None
    if directory is None and workers > 1:
        directory = tempfile.mkdtemp(prefix="volatility-api-metrics-")
        os.environ[MULTIPROC_ENV] = directory  # the workers (and prometheus_client in them) read it from here
        created = Path(directory)
    if directory is not None:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    return created


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the API with uvicorn; flags override API_HOST, API_PORT, API_WORKERS and LOG_LEVEL."""
    parser = argparse.ArgumentParser(prog="python -m services.api", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--host",
        help=f"bind address (env API_HOST, default {DEFAULTS.api_host}: loopback only; 0.0.0.0 serves other hosts)",
    )
    parser.add_argument("--port", type=int, help=f"port (env API_PORT, default {DEFAULTS.api_port})")
    parser.add_argument(
        "--workers", type=int, help=f"uvicorn worker processes (env API_WORKERS, default {DEFAULTS.api_workers})"
    )
    parser.add_argument("--log-level", help=f"env LOG_LEVEL, default {DEFAULTS.log_level}")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    host = args.host or settings.api_host
    port = args.port if args.port is not None else settings.api_port
    workers = args.workers or settings.api_workers
    log_level = (args.log_level or settings.log_level).lower()
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    created = _prepare_multiprocess_dir(workers)
    import uvicorn

    from services.api.server import GuardedHttpToolsProtocol, ServerLimits

    GuardedHttpToolsProtocol.limits = ServerLimits.from_settings(settings)  # workers re-read them from the env

    try:
        uvicorn.run(
            "services.api.app:create_app",
            factory=True,  # each worker builds its app from the environment; importing the module builds nothing
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
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
