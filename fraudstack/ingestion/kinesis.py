"""Kinesis ``PutRecords`` batching within the service limits, with per-record retries.

Why its own module: the limits (500 records and 5 MiB per call, 1 MiB per record, each
counting data plus partition key) and the partial-failure contract of ``PutRecords``
(the call succeeds while some records fail, reported in ``FailedRecordCount``) are easy to
get subtly wrong, and both are testable without Kafka.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from fraudstack.errors import FraudstackError
from fraudstack.observability import MetricsPublisher

log = logging.getLogger(__name__)

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
MAX_BYTES_PER_RECORD = 1024 * 1024


def record_size(data: bytes, partition_key: str) -> int:
    """What a record counts against the Kinesis limits: data plus UTF-8 partition key."""
    return len(data) + len(partition_key.encode())


@dataclass
class KinesisBatch:
    """Records for one ``PutRecords`` call; :meth:`fits` says whether one more may join."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0

    def fits(self, data: bytes, partition_key: str) -> bool:
        return (
            len(self.entries) < MAX_RECORDS_PER_CALL
            and self.size + record_size(data, partition_key) <= MAX_BYTES_PER_CALL
        )

    def add(self, data: bytes, partition_key: str) -> None:
        size = record_size(data, partition_key)
        if size > MAX_BYTES_PER_RECORD:
            raise ValueError(f"record of {size} bytes exceeds the Kinesis limit of {MAX_BYTES_PER_RECORD}")
        self.entries.append({"Data": data, "PartitionKey": partition_key})
        self.size += size

    @property
    def full(self) -> bool:
        return len(self.entries) >= MAX_RECORDS_PER_CALL

    def __len__(self) -> int:
        return len(self.entries)


class PutAborted(FraudstackError):
    """Shutdown was requested and Kinesis still had not accepted every record in the grace period.

    A user-facing error (one line, exit 1): the records' offsets stay uncommitted, so the
    next run replays them; nothing is lost.
    """


class KinesisSink:
    """Puts batches into one stream; returns only when Kinesis accepted every record.

    Partial failures retry only the failed records; a failed call retries the records not
    yet accepted. Both back off exponentially with jitter (``base_backoff`` doubling up to
    ``max_backoff``). Retrying never ends on its own - at-least-once means a record is
    either accepted or its offset stays uncommitted - except after ``stop`` is set, when
    it gives up after ``grace`` seconds with :class:`PutAborted`.
    """

    def __init__(
        self,
        kinesis: Any,
        stream: str,
        metrics: MetricsPublisher | None = None,
        base_backoff: float = 0.05,
        max_backoff: float = 5.0,
        grace: float = 30.0,
    ) -> None:
        self._kinesis = kinesis
        self.stream = stream
        self._metrics = metrics
        self._base = base_backoff
        self._max = max_backoff
        self._grace = grace

    def put(self, entries: list[dict[str, Any]], stop: threading.Event | None = None) -> int:
        """Put every entry; return how many attempts (calls) it took."""
        pending = entries
        attempt = 0
        give_up_at: float | None = None
        while pending:
            if attempt:
                if stop is not None and stop.is_set():
                    give_up_at = give_up_at or time.monotonic() + self._grace
                    if time.monotonic() >= give_up_at:
                        raise PutAborted(
                            f"{len(pending)} records not accepted by Kinesis within {self._grace:.0f}s "
                            "of shutdown; their offsets stay uncommitted and are replayed on restart"
                        )
                delay = min(self._max, self._base * 2 ** (attempt - 1))
                time.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not crypto
            attempt += 1
            started = time.perf_counter()
            try:
                answer = self._kinesis.put_records(StreamName=self.stream, Records=pending)
            except (ClientError, BotoCoreError) as exc:
                self._count("PutRecordsErrors")
                log.warning(
                    "PutRecords failed; retrying",
                    extra={"error": str(exc), "records": len(pending), "attempt": attempt},
                )
                continue
            if self._metrics is not None:
                self._metrics.observe("PutRecordsLatency", (time.perf_counter() - started) * 1000.0)
            failed = int(answer.get("FailedRecordCount", 0))
            if not failed:
                return attempt
            self._count("FailedRecords", failed)
            results = answer["Records"]
            codes = sorted({r["ErrorCode"] for r in results if "ErrorCode" in r})
            log.warning(
                "PutRecords partially failed; retrying the failed records",
                extra={"failed": failed, "of": len(pending), "codes": codes, "attempt": attempt},
            )
            pending = [entry for entry, result in zip(pending, results, strict=True) if "ErrorCode" in result]
        return attempt

    def _count(self, name: str, value: float = 1.0) -> None:
        if self._metrics is not None:
            self._metrics.count(name, value)
