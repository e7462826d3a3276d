"""``/metrics`` in Prometheus's text format, through the ``prometheus_client`` library.

One ``CollectorRegistry`` per running bot rather than the library's global one: tests and
the demo start several bots in one process, and each must count only its own. Counters
are incremented where things happen (the webhook endpoint, the answer's service, the rate
limiter, the jobs); the queue gauges are read from the database when Prometheus scrapes,
with a few indexed counts (``bot/services/health.py``).
"""

from __future__ import annotations

import math

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import generate_latest

from bot.services.health import Depths

#: seconds: an answer's transaction is milliseconds, waiting for the write lock can be more
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST
# no ``…_created`` series beside every counter: a timestamp per series that dashboards
# do not use and every scrape would carry
# the library leaves this one function unannotated (it takes and returns nothing)
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    """Everything a running bot counts; ``render`` is the scrape's body."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "tapwork_updates", "Telegram updates received, by what became of them: handled, "
            "deduplicated (handled before: answered without handling), busy (being handled "
            "by another replica: Telegram retries), refused (wrong or no secret), malformed, "
            "unavailable (the database did not answer: Telegram retries)",
            ["outcome"], registry=registry)
        self.update_seconds = Histogram(
            "tapwork_update_seconds", "Seconds from a webhook post to its answer, claim and "
            "handling included (handled updates only)", buckets=LATENCY_BUCKETS,
            registry=registry)
        self.answers = Counter(
            "tapwork_answers", "Answers handled, by outcome (accepted: recorded once)",
            ["outcome"], registry=registry)
        self.answer_seconds = Histogram(
            "tapwork_answer_seconds", "Seconds an answer's write transaction took, waiting "
            "for the write lock included", buckets=LATENCY_BUCKETS, registry=registry)
        self.too_many = Counter(
            "tapwork_telegram_429", "Bot API calls Telegram answered with 429 Too Many "
            "Requests", registry=registry)
        self.jobs = Counter("tapwork_job_runs", "Runs of each repeating job", ["job"],
                            registry=registry)
        self.job_failures = Counter("tapwork_job_failures", "Runs of each repeating job "
                                    "that raised", ["job"], registry=registry)
        self._depths = {
            "open_leases": Gauge("tapwork_open_leases", "Tasks leased to a worker and not "
                                 "yet answered", registry=registry),
            "outbox_waiting": Gauge("tapwork_outbox_waiting", "Notices waiting to be sent",
                                    registry=registry),
            "outbox_in_flight": Gauge("tapwork_outbox_in_flight", "Notices claimed by a "
                                      "sender and not yet finished", registry=registry),
            "broadcast_pending": Gauge("tapwork_broadcast_pending", "Recipients of running "
                                       "broadcasts not yet sent to", registry=registry),
        }
        self.database_up = Gauge("tapwork_database_up", "1 when the last scrape could read "
                                 "the queue depths from the database", registry=registry)

    # -- the Meter protocol of bot/services/meter.py --------------------------------
    def answer(self, outcome: str, seconds: float) -> None:
        self.answers.labels(outcome).inc()
        self.answer_seconds.observe(seconds)

    def update(self, outcome: str, seconds: float | None = None) -> None:
        self.updates.labels(outcome).inc()
        if seconds is not None:
            self.update_seconds.observe(seconds)

    def render(self, depths: Depths | None) -> bytes:
        """The exposition; ``depths`` None when the database could not be read (the
        gauges are NaN then, and ``tapwork_database_up`` 0)."""
        for name, gauge in self._depths.items():
            gauge.set(getattr(depths, name) if depths is not None else math.nan)
        self.database_up.set(1 if depths is not None else 0)
        return generate_latest(self.registry)

    def count(self, name: str, outcome: str = "") -> float:
        """One counter's value as Prometheus would read it (tests, logs)."""
        value = self.registry.get_sample_value(f"{name}_total",
                                               {"outcome": outcome} if outcome else None)
        return value or 0.0
