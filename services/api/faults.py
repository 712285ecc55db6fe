"""Fault injection for end-to-end alert tests: a share of /predict answered 500, and added latency.

Built only when FAULT_INJECTION_ENABLED=1 (services.settings refuses fault values otherwise); per process (each
uvicorn worker has its own). Driven at runtime through `/admin/faults` (services.api.app).
"""

from __future__ import annotations

import threading

from pydantic import BaseModel, Field

from services.settings import MAX_FAULT_LATENCY_SECONDS

ADMIN_MAX_BODY_BYTES = 4096  # a FaultSettings object is a few dozen bytes


class FaultInjector:
    """Deterministic faults: exactly `error_rate` of requests fail, evenly spread (no randomness to flake on)."""

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


class FaultSettings(BaseModel):
    """The body of `POST /admin/faults`."""

    error_rate: float = Field(0.0, ge=0.0, le=1.0, description="Share of /predict answered 500.")
    latency_seconds: float = Field(
        0.0, ge=0.0, le=MAX_FAULT_LATENCY_SECONDS, description="Delay added to each /predict."
    )
