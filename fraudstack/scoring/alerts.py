"""Real-time alerts: high-scoring reviews and declines published to the SNS alerts topic.

Why background threads and a sequence watermark: an SNS call takes milliseconds (hundreds on
the local emulator), and a decision must not wait for it. The scoring loop enqueues each
alert with a sequence number; worker threads publish in batches of up to 10
(``PublishBatch``), retrying until SNS accepts. :attr:`AlertPublisher.published` is the
highest sequence number below which every alert is accepted; the scorer commits the offsets
it cut at sequence ``n`` only once ``published >= n``, so an alert is never lost behind a
committed offset (at-least-once, like the decisions) and the loop never blocks on SNS.
A backlog above ``max_backlog`` does block :meth:`publish` (backpressure, bounded memory).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from fraudstack import aws
from fraudstack.deploy import connect
from fraudstack.observability import MetricsPublisher
from fraudstack.settings import Settings

log = logging.getLogger(__name__)

_BATCH = 10


def topic_arn(settings: Settings) -> str:
    """The alerts topic's ARN from its name (the account comes from STS, as in ``deploy``)."""
    target = connect(settings)
    return f"arn:{target.partition}:sns:{settings.aws_region}:{target.account_id}:{settings.sns_topic}"


class AlertPublisher:
    """Publishes alerts to one SNS topic from ``workers`` daemon threads."""

    def __init__(
        self,
        settings: Settings,
        metrics: MetricsPublisher | None = None,
        workers: int = 4,
        max_backlog: int = 20_000,
    ) -> None:
        self._sns = aws.client("sns", settings)
        self._arn = topic_arn(settings)
        self._metrics = metrics
        self._max_backlog = max_backlog
        self._queue: queue.Queue[tuple[int, dict[str, Any]] | None] = queue.Queue()
        self._lock = threading.Condition()
        self.enqueued = 0
        self.published = 0
        self._done: set[int] = set()
        self._threads = [
            threading.Thread(target=self._run, name=f"alert-publisher-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def publish(self, transaction_id: str, subject: str, body: str, decision: str) -> int:
        """Queue an alert; returns its sequence number."""
        with self._lock:
            while self.enqueued - self.published >= self._max_backlog:
                self._lock.wait(0.1)
            self.enqueued += 1
            seq = self.enqueued
        entry = {
            "Id": transaction_id[:80],
            "Subject": subject,
            "Message": body,
            "MessageAttributes": {"decision": {"DataType": "String", "StringValue": decision}},
        }
        self._queue.put((seq, entry))
        return seq

    def wait_for(self, seq: int, timeout: float) -> bool:
        """Block until every alert up to ``seq`` is accepted; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.published < seq:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def close(self, timeout: float = 30.0) -> None:
        self.wait_for(self.enqueued, timeout)
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < _BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # this thread's stop signal: handled after this batch
                    break
                batch.append(item)
            self._send([entry for _, entry in batch])
            self._mark_done([seq for seq, _ in batch])

    def _mark_done(self, seqs: list[int]) -> None:
        with self._lock:
            self._done.update(seqs)
            while self.published + 1 in self._done:
                self.published += 1
                self._done.remove(self.published)
            self._lock.notify_all()

    def _send(self, batch: list[dict[str, Any]]) -> None:
        """PublishBatch until every entry is accepted (ids are unique per batch: dedupe first)."""
        pending = list({entry["Id"]: entry for entry in batch}.values())
        attempt = 0
        while pending:
            if attempt:
                time.sleep(min(5.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
            attempt += 1
            try:
                answer = self._sns.publish_batch(TopicArn=self._arn, PublishBatchRequestEntries=pending)
            except (ClientError, BotoCoreError) as exc:
                log.warning(
                    "SNS alert publish failed; retrying", extra={"error": str(exc), "alerts": len(pending)}
                )
                continue
            failed = {item["Id"] for item in answer.get("Failed", [])}
            if self._metrics is not None:
                self._metrics.count("Alerts", len(pending) - len(failed))
            pending = [entry for entry in pending if entry["Id"] in failed]
