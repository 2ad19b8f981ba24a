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

Why markers: at-least-once publishing repeats the alerts a killed scorer had published but not
yet committed (the chaos test counted up to 37), and an analyst must get one e-mail per
fraudulent transaction, ever. So before publishing, the child claims
``<scorer_state_prefix>alerts-sent/<transaction_id>`` in the artifacts bucket with a
conditional PUT (``If-None-Match: *``), and marks it published once SNS accepts. A replayed
alert whose marker says published is dropped (and confirmed to the scorer). One marked
claimed only - its publisher died between the claim and SNS's answer - is published again:
a repeat in that window of milliseconds, never a lost alert. Markers are small objects that
outlive restarts, and the stack's consistency check keeps them.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import random
import threading
import time
from collections.abc import Callable
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from fraudstack import aws
from fraudstack.errors import FraudstackError
from fraudstack.identity import caller_identity
from fraudstack.model.registry import bucket as artifacts_bucket
from fraudstack.observability import MetricsPublisher, configure_json_logging
from fraudstack.settings import Settings

log = logging.getLogger(__name__)

_BATCH = 10

T = TypeVar("T")


#: Under the scorer state prefix: one marker object per alerted transaction.
SENT_PREFIX = "alerts-sent/"


class SentMarkers:
    """Which alerts were published, ever: one conditional-PUT marker per transaction."""

    def __init__(self, settings: Settings) -> None:
        self._s3 = aws.client("s3", settings)
        self._bucket = artifacts_bucket(settings)
        self._prefix = f"{settings.scorer_state_prefix}{SENT_PREFIX}"

    def unsent(self, transaction_ids: list[str]) -> list[str]:
        """Claim each id; those already published are left out (raises ClientError to retry)."""
        return [tid for tid in transaction_ids if self._claim(tid)]

    def mark_published(self, transaction_ids: list[str]) -> None:
        for tid in transaction_ids:
            self._s3.put_object(Bucket=self._bucket, Key=self._prefix + tid, Body=b"published")

    def _claim(self, tid: str) -> bool:
        try:
            self._s3.put_object(Bucket=self._bucket, Key=self._prefix + tid, Body=b"claimed", IfNoneMatch="*")
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "PreconditionFailed":
                raise
        marker = self._s3.get_object(Bucket=self._bucket, Key=self._prefix + tid)["Body"].read()
        return bool(marker != b"published")


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
    local emulator milliseconds of CPU whatever it carries (BENCHMARKS.md, "Streaming scorer":
    ten a call cost far less each than one), CPU the scorer needs.
    """
    configure_json_logging("scorer")
    sns = aws.client("sns", settings)
    markers = SentMarkers(settings)
    batches: queue.Queue[list[tuple[int, dict[str, Any]]] | None] = queue.Queue(maxsize=1)
    acks_lock = threading.Lock()

    def send() -> None:
        while (batch := batches.get()) is not None:
            accepted = _send(sns, markers, arn, [entry for _, entry in batch])
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


def _send(sns: Any, markers: SentMarkers, arn: str, batch: list[dict[str, Any]]) -> int:
    """Publish the batch's alerts not published before, until SNS accepts every one; returns
    how many it published. (Entry ids are the transaction ids, unique per batch: dedupe first.)"""
    entries = {entry["Id"]: entry for entry in batch}
    unsent = _retrying("claim", lambda: markers.unsent(list(entries)), len(entries))
    if len(unsent) < len(entries):
        log.info("alerts published before left out", extra={"alerts": len(entries) - len(unsent)})
    pending = [entries[tid] for tid in unsent]
    accepted = 0
    attempt = 0
    while pending:
        if attempt:
            _backoff(attempt)
        attempt += 1
        try:
            answer = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=pending)
        except (ClientError, BotoCoreError) as exc:
            log.warning(
                "SNS alert publish failed; retrying", extra={"error": str(exc), "alerts": len(pending)}
            )
            continue
        failed = {item["Id"] for item in answer.get("Failed", [])}
        done = [entry["Id"] for entry in pending if entry["Id"] not in failed]
        _retrying("mark published", partial(markers.mark_published, done), len(done))
        accepted += len(done)
        pending = [entry for entry in pending if entry["Id"] in failed]
    return accepted


def _retrying(what: str, call: Callable[[], T], alerts: int) -> T:
    """``call`` until S3 answers (the emulator or a network path may be down for a while)."""
    attempt = 0
    while True:
        if attempt:
            _backoff(attempt)
        attempt += 1
        try:
            return call()
        except (ClientError, BotoCoreError) as exc:
            log.warning(f"alert marker {what} failed; retrying", extra={"error": str(exc), "alerts": alerts})


def _backoff(attempt: int) -> None:
    time.sleep(min(5.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
