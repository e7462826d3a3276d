"""What the services count for ``/metrics``, without knowing how it is exported.

Why a protocol: the services stay free of any metrics library (and of the web server);
the composition root hands them the Prometheus meter of ``handlers/web/metrics.py``, and
tests and CLI commands the silent one.
"""

from __future__ import annotations

from typing import Protocol


class Meter(Protocol):
    def answer(self, outcome: str, seconds: float) -> None:
        """An answer was handled: its outcome, and how long its transaction took."""
        ...


class NoMeter:
    """Counts nothing."""

    def answer(self, outcome: str, seconds: float) -> None:
        return None


NO_METER = NoMeter()
