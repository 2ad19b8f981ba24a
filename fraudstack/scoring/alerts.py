"""Real-time alerts: high-scoring reviews and declines published to the SNS alerts topic.

Why a background thread: an SNS call takes milliseconds, a decision must not wait for it.
The scoring loop enqueues; this thread publishes in batches of up to 10 (``PublishBatch``)
and retries until SNS accepts. Before the scorer commits offsets it calls :meth:`flush`,
so an alert is never lost behind a committed offset (at-least-once, like the decisions).
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
    """Publishes (id, subject, body) alerts to one SNS topic from a daemon thread."""

    def __init__(self, settings: Settings, metrics: MetricsPublisher | None = None) -> None:
        self._sns = aws.client("sns", settings)
        self._arn = topic_arn(settings)
        self._metrics = metrics
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="alert-publisher", daemon=True)
        self._thread.start()

    def publish(self, transaction_id: str, subject: str, body: str, decision: str) -> None:
        self._queue.put(
            {
                "Id": transaction_id[:80],
                "Subject": subject,
                "Message": body,
                "MessageAttributes": {"decision": {"DataType": "String", "StringValue": decision}},
            }
        )

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued alert was accepted; False if that took longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._queue.task_done()
                return
            batch = [first]
            while len(batch) < _BATCH:
                try:
                    entry = self._queue.get_nowait()
                except queue.Empty:
                    break
                if entry is None:
                    self._queue.put(None)  # handled after this batch
                    self._queue.task_done()
                    break
                batch.append(entry)
            self._send(batch)
            for _ in batch:
                self._queue.task_done()

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
