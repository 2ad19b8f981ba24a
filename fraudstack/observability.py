"""Metrics and structured logs shared by the long-running services.

Why a publisher that aggregates: CloudWatch bills and throttles per ``PutMetricData``
call, and a service handling thousands of records per second cannot make a call per
record. :class:`MetricsPublisher` folds every count and observation into one datum per
metric (a sum, or a statistic set of count/sum/min/max) per flush interval, and sends those
in batches of up to 1000 data per call from a background thread. A failing CloudWatch never
stops the pipeline: the failure is logged and that window's data is dropped.

:func:`configure_json_logging` makes every log line one JSON object (``ts``, ``level``,
``service``, ``logger``, ``msg`` plus any ``extra=`` fields), which CloudWatch Logs Insights
and ``jq`` read without parsing rules.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from fraudstack import aws
from fraudstack.settings import Settings

log = logging.getLogger(__name__)

Unit = Literal["Count", "Milliseconds", "Seconds", "Bytes", "Count/Second", "None"]

#: CloudWatch's limit of metric data per PutMetricData call.
MAX_DATA_PER_CALL = 1000


@dataclass
class _Stat:
    unit: Unit
    count: float = 0.0
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, value: float, weight: float = 1.0) -> None:
        self.count += weight
        self.total += value * weight
        self.low = min(self.low, value)
        self.high = max(self.high, value)

    def add_many(self, values: list[float]) -> None:
        """Each value once, with C-level loops (a batch of thousands costs microseconds)."""
        if values:
            self.count += len(values)
            self.total += sum(values)
            self.low = min(self.low, min(values))
            self.high = max(self.high, max(values))


class MetricsPublisher:
    """Aggregates counters and observations and publishes them to CloudWatch periodically.

    Use as a context manager (or call :meth:`start` / :meth:`close`); ``close`` flushes what
    is left. ``totals`` keeps every counter since start for summaries and logs.
    """

    def __init__(
        self,
        settings: Settings,
        service: str,
        flush_interval: float = 10.0,
        cloudwatch: Any | None = None,
    ) -> None:
        self.namespace = settings.metrics_namespace
        self.dimensions = [{"Name": "Service", "Value": service}]
        self.flush_interval = flush_interval
        self._enabled = settings.metrics_enabled
        self._cloudwatch = (
            cloudwatch if cloudwatch is not None or not self._enabled else aws.client("cloudwatch", settings)
        )
        self._lock = threading.Lock()
        self._counters: dict[str, float] = {}
        self._stats: dict[str, _Stat] = {}
        self.totals: dict[str, float] = {}
        self.calls = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- recording (any thread, cheap) ---------------------------------------------------------
    def count(self, name: str, value: float = 1.0) -> None:
        """Add to a counter (published as the sum over the flush window, unit Count)."""
        with self._lock:
            self._counters[name] = self._counters.get(name, 0.0) + value
            self.totals[name] = self.totals.get(name, 0.0) + value

    def observe(self, name: str, value: float, unit: Unit = "Milliseconds", weight: float = 1.0) -> None:
        """Record a measurement (published as count/sum/min/max over the flush window).

        ``weight`` records the same value for that many samples (e.g. a batch's latency for
        each record in it) without a call per record.
        """
        with self._lock:
            stat = self._stats.get(name)
            if stat is None:
                stat = self._stats[name] = _Stat(unit)
            stat.add(value, weight)

    def observe_many(self, name: str, values: Iterable[float], unit: Unit = "Milliseconds") -> None:
        """Record many measurements under one lock (e.g. every record's age in a batch)."""
        batch = list(values)
        with self._lock:
            stat = self._stats.get(name)
            if stat is None:
                stat = self._stats[name] = _Stat(unit)
            stat.add_many(batch)

    # --- publishing --------------------------------------------------------------------------------
    def start(self) -> MetricsPublisher:
        """Flush every ``flush_interval`` seconds from a daemon thread until :meth:`close`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="metrics-publisher", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop the background thread and publish what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.flush_interval + 5)
        self.flush()

    def __enter__(self) -> MetricsPublisher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            self.flush()

    def take(self) -> list[dict[str, Any]]:
        """The metric data of the window so far, and start a new window."""
        now = datetime.now(UTC)
        with self._lock:
            counters, self._counters = self._counters, {}
            stats, self._stats = self._stats, {}
        data: list[dict[str, Any]] = [
            {
                "MetricName": name,
                "Dimensions": self.dimensions,
                "Timestamp": now,
                "Value": value,
                "Unit": "Count",
            }
            for name, value in counters.items()
        ]
        data += [
            {
                "MetricName": name,
                "Dimensions": self.dimensions,
                "Timestamp": now,
                "Unit": stat.unit,
                "StatisticValues": {
                    "SampleCount": stat.count,
                    "Sum": stat.total,
                    "Minimum": stat.low,
                    "Maximum": stat.high,
                },
            }
            for name, stat in stats.items()
            if stat.count > 0
        ]
        return data

    def flush(self) -> None:
        """Publish the current window now (in calls of at most 1000 data); never raises."""
        data = self.take()
        if not data or self._cloudwatch is None:
            return
        for start in range(0, len(data), MAX_DATA_PER_CALL):
            try:
                self._cloudwatch.put_metric_data(
                    Namespace=self.namespace, MetricData=data[start : start + MAX_DATA_PER_CALL]
                )
                self.calls += 1
            except Exception as exc:
                log.warning("could not publish %d metrics to CloudWatch: %s", len(data), exc)
                return


_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``extra=`` fields become top-level keys."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_json_logging(service: str, level: int = logging.INFO) -> None:
    """Send every log record to stderr as one JSON line (replaces root handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # boto's own debug chatter is not the service's story.
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
