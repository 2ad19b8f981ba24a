"""Real-time alerts: high-scoring reviews and declines published to the SNS alerts topic.

Why a child process and a sequence watermark: an SNS call takes milliseconds (hundreds on
the local emulator), and a decision must not wait for it. Nor may the calls share the
scorer's interpreter: boto3 is Python through and through, and its calls on threads of the
scoring process held the GIL the scoring loop needs (alerts for 0.4% of transactions cost a
quarter of the throughput). So the loop hands each alert, with a sequence number, over a pipe
to a child process whose threads publish in batches of up to 10 (``PublishBatch``), retrying
until SNS accepts, and send back the sequence numbers accepted.
:attr:`AlertPublisher.published` is the highest sequence number below which every alert is
accepted; the scorer commits the offsets it cut at sequence ``n`` only once
``published >= n``, so an alert is never lost behind a committed offset (at-least-once, like
the decisions) and the loop never blocks on SNS. A backlog above ``max_backlog`` does block
:meth:`AlertPublisher.publish` (backpressure, bounded memory). The child exits when its pipe
closes, including when the scorer is killed: nothing it had not confirmed was committed.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import random
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from fraudstack import aws
from fraudstack.errors import FraudstackError
from fraudstack.identity import caller_identity
from fraudstack.observability import MetricsPublisher, configure_json_logging
from fraudstack.settings import Settings

log = logging.getLogger(__name__)

_BATCH = 10


def topic_arn(settings: Settings) -> str:
    """The alerts topic's ARN from its name (the account comes from STS, as in ``deploy``)."""
    return caller_identity(settings).topic_arn(settings.sns_topic)


class AlertPublisher:
    """Publishes alerts to one SNS topic from a child process with ``workers`` threads."""

    def __init__(
        self,
        settings: Settings,
        metrics: MetricsPublisher | None = None,
        workers: int = 4,
        max_backlog: int = 20_000,
        linger: float = 0.05,
    ) -> None:
        self._metrics = metrics
        self._max_backlog = max_backlog
        self._lock = threading.Condition()
        self.enqueued = 0
        self.published = 0
        #: SNS calls that carried the published alerts (alerts per call = published / batches).
        self.batches = 0
        self._done: set[int] = set()
        self._failed: str | None = None
        self._closing = False
        # spawn, not fork: the scorer already runs threads (librdkafka's among them).
        context = multiprocessing.get_context("spawn")
        alerts_out, self._alerts = context.Pipe(duplex=False)
        self._acks, acks_in = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve,
            args=(settings, topic_arn(settings), alerts_out, acks_in, workers, linger),
            name="alert-publisher",
            daemon=True,
        )
        self._process.start()
        alerts_out.close()
        acks_in.close()
        self._reader = threading.Thread(target=self._read_acks, name="alert-acks", daemon=True)
        self._reader.start()

    def publish(self, transaction_id: str, subject: str, body: str, decision: str) -> int:
        """Queue an alert; returns its sequence number."""
        with self._lock:
            while self._failed is None and self.enqueued - self.published >= self._max_backlog:
                self._lock.wait(0.1)
            if self._failed is not None:
                raise FraudstackError(f"the alert publisher stopped: {self._failed}")
            self.enqueued += 1
            seq = self.enqueued
        entry = {
            "Id": transaction_id[:80],
            "Subject": subject,
            "Message": body,
            "MessageAttributes": {"decision": {"DataType": "String", "StringValue": decision}},
        }
        self._alerts.send((seq, entry))
        return seq

    def wait_for(self, seq: int, timeout: float) -> bool:
        """Block until every alert up to ``seq`` is accepted; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.published < seq:
                left = deadline - time.monotonic()
                if left <= 0 or self._failed is not None:
                    return False
                self._lock.wait(left)
        return True

    def close(self, timeout: float = 30.0) -> None:
        self.wait_for(self.enqueued, timeout)
        self._closing = True
        self._alerts.close()  # the child finishes what it holds and exits
        self._process.join(timeout=10)
        self._reader.join(timeout=5)

    def _read_acks(self) -> None:
        while True:
            try:
                seqs, accepted = self._acks.recv()
            except (EOFError, OSError) as exc:
                with self._lock:
                    if not self._closing:
                        self._failed = f"its process exited ({type(exc).__name__})"
                        log.error(
                            "alert publisher process exited",
                            extra={"unconfirmed": self.enqueued - self.published},
                        )
                    self._lock.notify_all()
                return
            if self._metrics is not None and accepted:
                self._metrics.count("Alerts", accepted)
            with self._lock:
                self.batches += 1
                self._done.update(seqs)
                while self.published + 1 in self._done:
                    self.published += 1
                    self._done.remove(self.published)
                self._lock.notify_all()


def _serve(
    settings: Settings, arn: str, alerts: Connection, acks: Connection, workers: int, linger: float
) -> None:
    """The child process: read alerts from the pipe, publish them in batches, report the accepted ones.

    This thread forms the batches: the first alert waits at most ``linger`` seconds for up to
    nine more; ``workers`` threads send them, and while all of them are busy the alerts wait
    in the pipe and fill the next batch at once. Why: an SNS call costs its caller and the
    local emulator milliseconds of CPU whatever it carries (one alert a call: ~5 ms; ten:
    ~1 ms each), CPU the scorer needs.
    """
    configure_json_logging("scorer")
    sns = aws.client("sns", settings)
    batches: queue.Queue[list[tuple[int, dict[str, Any]]] | None] = queue.Queue(maxsize=1)
    acks_lock = threading.Lock()

    def send() -> None:
        while (batch := batches.get()) is not None:
            accepted = _send(sns, arn, [entry for _, entry in batch])
            with acks_lock:
                acks.send(([seq for seq, _ in batch], accepted))

    threads = [threading.Thread(target=send, name=f"alert-publisher-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    open_ = True
    while open_:
        try:
            batch = [alerts.recv()]
        except (EOFError, OSError):
            break
        deadline = time.monotonic() + linger
        while len(batch) < _BATCH:
            try:
                if not alerts.poll(max(0.0, deadline - time.monotonic())):
                    break
                batch.append(alerts.recv())
            except (EOFError, OSError):
                open_ = False  # the scorer is gone or done: send what is in hand, then stop
                break
        batches.put(batch)
    for _ in threads:
        batches.put(None)
    for thread in threads:
        thread.join()


def _send(sns: Any, arn: str, batch: list[dict[str, Any]]) -> int:
    """PublishBatch until every entry is accepted (ids are unique per batch: dedupe first)."""
    pending = list({entry["Id"]: entry for entry in batch}.values())
    accepted = 0
    attempt = 0
    while pending:
        if attempt:
            time.sleep(min(5.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
        attempt += 1
        try:
            answer = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=pending)
        except (ClientError, BotoCoreError) as exc:
            log.warning(
                "SNS alert publish failed; retrying", extra={"error": str(exc), "alerts": len(pending)}
            )
            continue
        failed = {item["Id"] for item in answer.get("Failed", [])}
        accepted += len(pending) - len(failed)
        pending = [entry for entry in pending if entry["Id"] in failed]
    return accepted
