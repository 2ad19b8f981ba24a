"""The streaming scorer: a consumer-group member that decides on every transaction as it arrives.

Per loop: take what the consumer has fetched (up to ``max_batch`` records; a lone record is
taken the moment it arrives, never held back to fill a batch), validate each record (the
canonical wire form on a fast path, :mod:`fraudstack.wire`; anything else through the
schema's model), update the owning partition's card state with the shared online features
(:class:`fraudstack.features.OnlineFeatures`), add the merchant's, device's, IP's and
customer's profiles from the aggregator's table (:mod:`fraudstack.scoring.profiles`), score
the whole batch as one matrix with the current model, and produce one decision per
transaction to the decisions topic, keyed by ``transaction_id``. Approvals go out at once;
reviews and declines once their TreeSHAP reason codes are computed on a worker thread
(:mod:`fraudstack.scoring.explain`), while the loop goes on with the next batch. Invalid
records go to the dead-letter topic with a reason; the scorer keeps running. Each scored
batch is also noted for the drift of the scored traffic (:mod:`fraudstack.scoring.drift`),
measured and published on a worker thread.

Poison pills: a record whose processing raises anyway (validation, feature update, scoring,
explaining or encoding its decision) is dead-lettered with the exception as its reason and
counted (``PoisonPills``); the records behind it are decided as usual. The guard costs
nothing on the happy path: a ``try`` per record is free in CPython 3.11, and the batch-wide
steps (scoring, explaining) are retried one record at a time only after they failed. A
feature update that raises leaves the card state untouched
(:meth:`fraudstack.features.OnlineFeatures.update`), so a replay rebuilds the same state.
Broker failures (``KafkaException``) and the scorer's own errors still stop it: the record is
not what is wrong, and stopping with offsets uncommitted loses nothing.

Nothing in the loop waits on the network or serialises the whole state: the pauses that
would delay every transaction behind them (broker acknowledgements, SNS, snapshots) happen
beside it.

At-least-once: every ``commit_interval`` seconds the scorer cuts a checkpoint: it notes each
partition's position, how many alerts were queued and which records it produced so far, and
commits those positions once the broker has acknowledged those records
(:mod:`fraudstack.scoring.deliveries`) and SNS has accepted those alerts - without stopping
the loop for either. A crash replays the uncommitted records; their decisions repeat with the
same ``transaction_id`` and, because the state is rebuilt exactly (see
:mod:`fraudstack.scoring.state`), the same features and scores.

Rebalancing uses the eager ``range`` protocol: on revoke the scorer checkpoints and
snapshots the partitions it gives away, on assignment it restores each partition's state
(a state it still holds, else the newest snapshot, then a replay up to the committed offset).
"""

from __future__ import annotations

import gc
import logging
import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from fraudstack.errors import FraudstackError
from fraudstack.features import OnlineFeatures
from fraudstack.kafka.config import consumer_config, producer_config
from fraudstack.kafka.dead_letters import dead_letter_headers, poison_reason
from fraudstack.kafka.stall import StallWatch, probe_with_consumer
from fraudstack.kafka.topics import ensure_topics
from fraudstack.model.decision_rule import DECISION_TYPES, Thresholds
from fraudstack.model.fraud_model import Reason
from fraudstack.observability import MetricsPublisher
from fraudstack.schema import utc_text, validate_event
from fraudstack.scoring.alert_publisher import AlertPublisher
from fraudstack.scoring.decision_records import (
    alert_message,
    decision_record,
    encode_decision,
)
from fraudstack.scoring.deliveries import Deliveries
from fraudstack.scoring.drift import StreamDrift
from fraudstack.scoring.explain import Explainer
from fraudstack.scoring.models import ModelWatcher, ScoringModel
from fraudstack.scoring.profiles import ProfileTable
from fraudstack.scoring.shadow import BACKLOG as _SHADOW_BACKLOG
from fraudstack.scoring.shadow import Shadows
from fraudstack.scoring.state import PartitionState, SnapshotStore
from fraudstack.settings import Settings
from fraudstack.wire import WireEvent, parse_event, wire_form

log = logging.getLogger(__name__)

#: Consumer settings that hand a record over as soon as the broker has it: the decision
#: budget is milliseconds (librdkafka's defaults wait up to 500 ms for a fuller fetch).
PROMPT_FETCH: dict[str, Any] = {"fetch.wait.max.ms": 10, "fetch.queue.backoff.ms": 1}
#: The fetch wait on the embedded broker with ``s3`` storage: Tansu answers a fetch whose
#: records it has not read from storage within the wait with nothing, so with 10 ms a consumer
#: starting at an offset not in its cache (a restarted scorer at its snapshot) never receives a
#: record (measured in BENCHMARKS.md, "Chaos": a 500 ms wait delivered them).
STORAGE_FETCH_WAIT_MS = 1000


def prompt_fetch(settings: Settings) -> dict[str, Any]:
    """:data:`PROMPT_FETCH`, with a wait a storage read fits in where the broker needs one."""
    if settings.target == "embedded" and settings.kafka_storage == "s3":
        return {**PROMPT_FETCH, "fetch.wait.max.ms": STORAGE_FETCH_WAIT_MS}
    return PROMPT_FETCH


#: How long an idle poll waits for the first record (bounds how late ``stop`` is noticed).
_IDLE_WAIT = 0.1
#: The idle wait while explanations or snapshots are in progress (they continue between polls).
_BUSY_WAIT = 0.005
#: Seconds of snapshot serialising per loop iteration: the most it adds to a batch's latency.
_SNAPSHOT_SLICE = 0.002
#: Batches whose reviews and declines may wait for reason codes before the loop waits for them.
_EXPLAIN_BACKLOG = 4


class ScorerError(FraudstackError):
    """The scorer cannot go on without risking a lost decision (offsets stay uncommitted)."""


#: Failures that are not the record's fault: they stop the scorer instead of dead-lettering it.
_NOT_POISON = (KafkaException, FraudstackError)


@dataclass
class ScorerStats:
    """Totals since start (also published as metrics and logged at shutdown)."""

    consumed: int = 0
    decided: int = 0
    replayed: int = 0
    dead_lettered: int = 0
    poison_pills: int = 0
    alerts: int = 0
    batches: int = 0
    commits: int = 0
    commits_failed: int = 0
    decisions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISION_TYPES, 0))


@dataclass
class _Batch:
    """The valid, not-yet-decided records of one poll, in consumption order."""

    messages: list[Message] = field(default_factory=list)  # to dead-letter one that fails later
    events: list[WireEvent] = field(default_factory=list)
    rows: list[list[float]] = field(default_factory=list)
    timestamps_ms: list[int] = field(default_factory=list)


@dataclass
class _Flagged:
    """A batch's reviews and declines, waiting for their reason codes."""

    model: ScoringModel  # to explain row by row should the batch fail
    inputs: np.ndarray
    messages: list[Message]
    events: list[WireEvent]
    codes: list[int]
    scores: list[float]
    alerting: list[bool]
    rows: list[list[float]] | None
    model_version: str
    decided_at: str


@dataclass
class _Fence:
    """A checkpoint cut: offsets to commit once the records of ``epoch`` and before are
    acknowledged and the first ``alerts`` alerts are published."""

    alerts: int
    epoch: int
    positions: dict[int, int]


class Scorer:
    """One scorer process: a member of the consumer group ``settings.scorer_group_id``."""

    def __init__(
        self,
        settings: Settings,
        metrics: MetricsPublisher | None = None,
        max_batch: int = 500,
        commit_interval: float = 0.5,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.max_batch = max_batch
        self.commit_interval = commit_interval
        self.stats = ScorerStats()
        self._topic = settings.topic_transactions
        ensure_topics(
            settings,
            [self._topic, settings.topic_dead_letter, settings.topic_decisions, settings.topic_shadow_scores],
        )
        self._models = ModelWatcher(settings, metrics)
        self._model = self._models.model
        self._shadow = self._models.shadow
        self._profiled = self._wants_profiles()
        self._thresholds = Thresholds.from_settings(settings, self._model.threshold)
        self._alerts = AlertPublisher(settings, metrics)
        self._profiles = ProfileTable(settings)
        self._snapshots = SnapshotStore(settings, settings.scorer_group_id, self._topic)
        self._consumer = Consumer(
            consumer_config(
                settings,
                settings.scorer_group_id,
                client_id="fraudstack-scorer",
                **prompt_fetch(settings),
                on_commit=self._committed,
            )
        )
        self._producer = Producer(
            producer_config(settings, client_id="fraudstack-scorer", **{"linger.ms": 1})
        )
        # Connect and learn the decisions topic's partitions now, not on the first decision.
        self._producer.list_topics(settings.topic_decisions, timeout=10)
        self._stalls = StallWatch(self._consumer, self._topic, probe_with_consumer(settings, self._topic))
        self._deliveries = Deliveries()
        self._explainer: Explainer[_Flagged] = Explainer()
        self._drift = StreamDrift(settings)
        self._shadows = Shadows()
        self._partitions: dict[int, PartitionState] = {}
        self._parked: dict[int, PartitionState] = {}
        self._last_snapshot = time.monotonic()
        self._healthy = True
        self._fence: _Fence | None = None

    # --- main loop -------------------------------------------------------------------------------
    def run(self, stop: threading.Event, exit_when_idle: float | None = None) -> ScorerStats:
        """Score until ``stop`` is set (or nothing arrived for ``exit_when_idle`` s); commit when leaving."""
        self._models.start()
        self._profiles.start()
        self._consumer.subscribe(
            [self._topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        log.info(
            "scorer started",
            extra={
                "topic": self._topic,
                "group": self.settings.scorer_group_id,
                "model_version": self._models.model.version,
                "thresholds": vars(self._thresholds),
            },
        )
        # The start-up heap (modules, clients, the model) lives as long as the process: a full
        # collection rescanning it takes 0.1-0.2 s and would land on the first batches.
        gc.freeze()
        last_record = last_cut = last_rate = time.monotonic()
        consumed_at_rate = 0
        try:
            while not stop.is_set():
                self._take_model()
                messages = self._poll()
                now = time.monotonic()
                if messages:
                    self._process(messages)
                    last_record = now
                    # The card state is long-lived and acyclic; without this, Python's full
                    # collections rescan all of it as it grows (pauses of 0.1-1 s per batch).
                    gc.freeze()
                self._emit_explained(backlog=_EXPLAIN_BACKLOG)
                self._emit_shadows(backlog=_SHADOW_BACKLOG)
                self._producer.poll(0)
                self._advance_snapshots()
                self._restart_stalled()
                self._drift.tick(now)
                if self._fence is None and self._cut_due(now - last_cut):
                    self._fence = self._cut()
                    self._start_snapshots(now)
                    last_cut = now
                if now - last_rate >= self.commit_interval:
                    if self.metrics is not None:
                        rate = (self.stats.consumed - consumed_at_rate) / (now - last_rate)
                        self.metrics.observe("Throughput", rate, unit="Count/Second")
                    last_rate, consumed_at_rate = now, self.stats.consumed
                if self._fence is not None and self._durable(self._fence):
                    self._commit(self._fence, asynchronous=True)
                    self._fence = None
                if exit_when_idle is not None and now - last_record >= exit_when_idle:
                    break
            self._checkpoint(snapshot=())
        except BaseException:
            self._healthy = False  # leave the group without committing what may not be durable
            raise
        finally:
            self._consumer.close()  # revokes: final checkpoint and snapshots, then leaves the group
            self._producer.flush(30)
            self._explainer.close()
            self._shadows.close()
            self._drift.close()
            self._alerts.close()
            self._snapshots.close()
            self._profiles.close()
            self._models.close()
            self._stalls.close()
            self._producer.close()  # flushed above; a live handle would keep polling the broker
        log.info("scorer stopped", extra={**vars(self.stats), "alert_calls": self._alerts.batches})
        return self.stats

    def _poll(self) -> list[Message]:
        """Everything already fetched (up to ``max_batch``); if nothing, wait for the first record only."""
        messages = self._consumer.consume(self.max_batch, 0)
        if not messages:
            busy = (
                len(self._explainer)
                or len(self._shadows)
                or any(s.capture is not None for s in self._partitions.values())
            )
            messages = self._consumer.consume(1, _BUSY_WAIT if busy else _IDLE_WAIT)
            if messages:
                messages += self._consumer.consume(self.max_batch - 1, 0)
        return messages

    def _restart_stalled(self) -> None:
        """Restart the fetch of owned partitions that hold records librdkafka stopped fetching
        (see :mod:`fraudstack.kafka.stall`); raises PartitionsStalled when a seek did not help."""
        restarted = self._stalls.check({p: s.position for p, s in self._partitions.items()})
        if restarted and self.metrics is not None:
            self.metrics.count("FetchRestarts", len(restarted))

    # --- per batch -------------------------------------------------------------------------------
    def _process(self, messages: list[Message]) -> None:
        consumed_at_ms = time.time() * 1000.0
        batch = _Batch()
        oldest_ms = consumed_at_ms
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                log.warning("consumer error", extra={"error": error.str()})
                continue
            self.stats.consumed += 1
            timestamp_ms = message.timestamp()[1]
            try:
                self._apply(message, timestamp_ms, batch)
            except _NOT_POISON:
                raise
            except Exception as exc:
                self._skip_poisoned(message, exc)
            if timestamp_ms < oldest_ms:
                oldest_ms = timestamp_ms
        self.stats.batches += 1
        if self.metrics is not None:
            self.metrics.count("RecordsIn", len(messages))
            # Lag in time, not records: Tansu's high watermark is wrong, event age is not.
            self.metrics.observe("ConsumerLag", max(0.0, consumed_at_ms - oldest_ms))
        if batch.events:
            self._decide(batch)

    def _apply(self, message: Message, timestamp_ms: int, batch: _Batch) -> None:
        """Update the partition's state with one record; queue it for a decision unless it is a replay."""
        partition, offset = message.partition(), message.offset()
        assert partition is not None and offset is not None
        state = self._partitions.get(partition)
        if state is None or offset < state.position:
            return  # revoked meanwhile, or already applied
        state.position = offset + 1
        value = message.value()
        if value is None:
            if offset >= state.resume_at:  # a replayed bad record was dead-lettered the first time
                self._dead_letter(message, "empty record (no value)")
            return
        event = parse_event(value)
        if event is None:  # not the canonical form: the model decides, and says why it rejects
            result = validate_event(value)
            if result.event is None:
                if offset >= state.resume_at:
                    self._dead_letter(message, result.reason or "invalid record")
                return
            event = wire_form(result.event)
        features = state.features.update(event)
        if self._profiled:
            features += self._profiles.features(event)
        if offset < state.resume_at:
            self.stats.replayed += 1
            return
        batch.messages.append(message)
        batch.events.append(event)
        batch.rows.append(features)
        batch.timestamps_ms.append(timestamp_ms)

    def _decide(self, batch: _Batch) -> None:
        """Score the batch as one matrix; produce the approvals, hand the rest to the explainer."""
        model = self._model
        try:
            matrix, inputs, scores, codes = self._score(model, batch.rows)
        except _NOT_POISON:
            raise
        except Exception:
            batch = self._without_poison(model, batch)
            if not batch.events:
                return
            matrix, inputs, scores, codes = self._score(model, batch.rows)
        self._drift.observe(model, matrix, scores)
        decided_at = utc_text(datetime.now(UTC))
        shadow = self._shadow
        if shadow is not None and shadow.version != model.version:
            self._shadows.submit(shadow, model.version, matrix, scores, batch.events, decided_at)
        rows = batch.rows if self.settings.scorer_include_features else None
        flagged = np.flatnonzero(codes)
        if len(flagged):
            picked = flagged.tolist()
            chosen = inputs[flagged]
            self._explainer.submit(
                model,
                chosen,
                _Flagged(
                    model=model,
                    inputs=chosen,
                    messages=[batch.messages[i] for i in picked],
                    events=[batch.events[i] for i in picked],
                    codes=codes[flagged].tolist(),
                    scores=scores[flagged].tolist(),
                    alerting=self._thresholds.alerts(scores[flagged], codes[flagged]).tolist(),
                    rows=None if rows is None else [rows[i] for i in picked],
                    model_version=model.version,
                    decided_at=decided_at,
                ),
            )
        approved = np.flatnonzero(codes == 0).tolist()
        approve = DECISION_TYPES[0]
        scores_list = scores.tolist()
        topic = self.settings.topic_decisions
        poisoned = 0
        for i in approved:
            event = batch.events[i]
            try:
                value = encode_decision(
                    event,
                    approve,
                    scores_list[i],
                    model.version,
                    decided_at,
                    None,
                    None if rows is None else rows[i],
                )
            except Exception as exc:
                self._poisoned(batch.messages[i], exc)
                poisoned += 1
                continue
            self._produce(topic, event["transaction_id"].encode(), value)
        self.stats.decisions[approve] += len(approved) - poisoned
        self.stats.decided += len(approved) - poisoned
        self._account(codes, batch.timestamps_ms)

    def _score(
        self, model: ScoringModel, rows: list[list[float]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(feature rows as a matrix, model inputs, scores, decision codes) of feature rows."""
        matrix = np.asarray(rows, dtype=np.float64)
        inputs = model.inputs(matrix)
        scores = model.score(inputs)
        return matrix, inputs, scores, self._thresholds.decide(scores)

    def _without_poison(self, model: ScoringModel, batch: _Batch) -> _Batch:
        """The batch less the records that fail to score on their own (dead-lettered).

        Only after scoring the whole batch failed: the happy path pays nothing for it.
        """
        kept = _Batch()
        for message, event, row, timestamp_ms in zip(
            batch.messages, batch.events, batch.rows, batch.timestamps_ms, strict=True
        ):
            try:
                self._score(model, [row])
            except _NOT_POISON:
                raise
            except Exception as exc:
                self._poisoned(message, exc)
                continue
            kept.messages.append(message)
            kept.events.append(event)
            kept.rows.append(row)
            kept.timestamps_ms.append(timestamp_ms)
        return kept

    def _emit_explained(self, backlog: int) -> None:
        """Produce the reviews and declines whose reason codes are ready, waiting for the oldest
        while more than ``backlog`` batches are left (0: all of them)."""
        for flagged, reasons in self._explainer.results(backlog):
            if isinstance(reasons, Exception):
                self._emit_flagged(flagged, self._explain_alone(flagged))
            else:
                self._emit_flagged(flagged, reasons)

    def _explain_alone(self, flagged: _Flagged) -> list[list[Reason] | None]:
        """Reason codes row by row, after the batch's explanation failed; None for a row that fails
        alone too (dead-lettered). On the loop's thread: a rare path, not worth a worker's order."""
        found: list[list[Reason] | None] = []
        for i, message in enumerate(flagged.messages):
            try:
                found.append(flagged.model.reasons(flagged.inputs[i : i + 1])[0])
            except Exception as exc:
                self._poisoned(message, exc)
                found.append(None)
        return found

    def _emit_flagged(self, flagged: _Flagged, reasons: Sequence[list[Reason] | None]) -> None:
        topic = self.settings.topic_decisions
        for i, event in enumerate(flagged.events):
            explained = reasons[i]
            if explained is None:
                continue  # dead-lettered by _explain_alone
            decision = DECISION_TYPES[flagged.codes[i]]
            args = (
                event,
                decision,
                flagged.scores[i],
                flagged.model_version,
                flagged.decided_at,
                explained,
                None if flagged.rows is None else flagged.rows[i],
            )
            try:
                value = encode_decision(*args)
                alert = alert_message(decision_record(*args), explained) if flagged.alerting[i] else None
            except Exception as exc:
                self._poisoned(flagged.messages[i], exc)
                continue
            self._produce(topic, event["transaction_id"].encode(), value)
            self.stats.decisions[decision] += 1
            self.stats.decided += 1
            if alert is not None:
                self._alerts.publish(event["transaction_id"], *alert, decision)
                self.stats.alerts += 1

    def _take_model(self) -> None:
        """Switch to a newly promoted model, or staged challenger, between batches (never within one)."""
        model, switched = self._models.take()
        shadow = self._models.shadow
        if switched or shadow is not self._shadow:
            self._model, self._shadow = model, shadow
            self._profiled = self._wants_profiles()
            self._thresholds = Thresholds.from_settings(self.settings, model.threshold)

    def _wants_profiles(self) -> bool:
        """Whether rows carry the entity profiles: the model or the challenger in shadow reads them,
        or decisions record every feature.

        Otherwise a row is the card features alone (the model's columns come first), which
        spares a card-only model the lookups and a matrix 2.6 times as wide.
        """
        shadow = self._shadow is not None and self._shadow.profiled
        return self._model.profiled or shadow or self.settings.scorer_include_features

    def _emit_shadows(self, backlog: int) -> None:
        """Produce the challenger's finished shadow scores (all of them with ``backlog`` 0)."""
        topic = self.settings.topic_shadow_scores
        for records in self._shadows.results(backlog):
            if isinstance(records, Exception):
                log.error("shadow scoring failed; the batch has no shadow scores", exc_info=records)
                if self.metrics is not None:
                    self.metrics.count("ShadowFailures")
                continue
            for key, value in records:
                self._produce(topic, key, value)

    def _account(self, codes: np.ndarray, timestamps_ms: list[int]) -> None:
        if self.metrics is None:
            return
        decided_at_ms = time.time() * 1000.0
        counts = np.bincount(codes, minlength=len(DECISION_TYPES))
        for name, count in zip(DECISION_TYPES, counts.tolist(), strict=True):
            self.metrics.count(f"Decisions{name.capitalize()}", count)
        self.metrics.observe_many("EndToEndLatency", [decided_at_ms - ts for ts in timestamps_ms if ts > 0])

    # --- producing -------------------------------------------------------------------------------
    def _produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, str | bytes | None]] | None = None,
    ) -> None:
        self._deliveries.produced()
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=self._deliveries.callback
                )
                return
            except BufferError:  # local queue full: let deliveries drain it
                self._producer.poll(0.01)

    def _skip_poisoned(self, message: Message, exc: Exception) -> None:
        """Move past a record whose state update raised: dead-letter it, unless it is a replay
        (dead-lettered the first time), and count it applied so the offset moves on."""
        partition, offset = message.partition(), message.offset()
        assert partition is not None and offset is not None
        state = self._partitions.get(partition)
        if state is None:
            return  # revoked meanwhile: the next owner reads it
        if state.position <= offset:
            state.position = offset + 1
        if offset >= state.resume_at:
            self._poisoned(message, exc)

    def _poisoned(self, message: Message, exc: Exception) -> None:
        """Dead-letter a record whose processing raised, with the exception as the reason; count it."""
        log.error(
            "poison pill",
            exc_info=exc,
            extra={"partition": message.partition(), "offset": message.offset()},
        )
        self._dead_letter(message, poison_reason(exc))
        self.stats.poison_pills += 1
        if self.metrics is not None:
            self.metrics.count("PoisonPills")

    def _dead_letter(self, message: Message, reason: str) -> None:
        """Same format as the bridge's dead letters, so one tool reads both."""
        headers = dead_letter_headers(message, reason)
        self._produce(self.settings.topic_dead_letter, message.key(), message.value(), headers)
        self.stats.dead_lettered += 1
        if self.metrics is not None:
            self.metrics.count("DeadLettered")
        log.warning(
            "record dead-lettered",
            extra={"reason": reason, "partition": message.partition(), "offset": message.offset()},
        )

    # --- checkpoints -----------------------------------------------------------------------------
    def _cut_due(self, elapsed: float) -> bool:
        """Whether to cut a checkpoint now, ``elapsed`` seconds after the last one.

        A cut first waits for the reason codes still being computed; it prefers a moment when
        there are none (costing nothing), for up to one more ``commit_interval``.
        """
        if elapsed < self.commit_interval:
            return False
        return not len(self._explainer) or elapsed >= 2 * self.commit_interval

    def _cut(self) -> _Fence:
        """Note what to commit once everything produced so far is acknowledged and the alerts are out.

        Every decision of a record below the noted positions is produced first (waiting for
        pending reason codes), so a commit never runs ahead of one.
        """
        self._emit_explained(backlog=0)
        self._emit_shadows(backlog=0)
        return _Fence(
            alerts=self._alerts.enqueued,
            epoch=self._deliveries.advance(),
            positions={p: s.position for p, s in self._partitions.items() if not s.replaying},
        )

    def _durable(self, fence: _Fence) -> bool:
        """Whether the broker acknowledged the cut's records and SNS accepted its alerts."""
        if not self._deliveries.settled(fence.epoch):
            return False
        self._raise_on_delivery_errors()
        return self._alerts.published >= fence.alerts

    def _raise_on_delivery_errors(self, unconfirmed: int = 0) -> None:
        errors = self._deliveries.errors
        if unconfirmed or errors:
            raise ScorerError(
                f"the broker did not confirm {unconfirmed or len(errors)} decisions "
                f"({'; '.join(errors[:3])}); offsets left uncommitted so they are replayed"
            )

    def _commit(self, fence: _Fence, asynchronous: bool) -> None:
        """Commit a cut whose records are acknowledged and whose alerts are all published.

        In the loop the commit is asynchronous (the broker's answer reaches :meth:`_committed`
        during a later poll): a round trip per ``commit_interval`` would delay every
        transaction behind it. A checkpoint that hands partitions on commits synchronously.
        """
        owned = {p: offset for p, offset in fence.positions.items() if p in self._partitions}
        moved = {p: offset for p, offset in owned.items() if offset > self._partitions[p].committed}
        if not moved:
            return
        offsets = [TopicPartition(self._topic, p, offset) for p, offset in moved.items()]
        try:
            if asynchronous:
                self._consumer.commit(offsets=offsets, asynchronous=True)
                return
            done = self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            self._committed(exc.args[0], [])
            return
        self._committed(None, done)  # on_commit is for asynchronous commits only

    def _committed(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """Note what the broker committed (never moving a partition's committed offset back)."""
        if err is not None:
            # Not fatal: the records are decided; an uncommitted offset only means replay.
            self.stats.commits_failed += 1
            log.warning("offset commit failed; records may be replayed", extra={"error": err.str()})
            return
        self.stats.commits += 1
        for tp in partitions:
            state = self._partitions.get(tp.partition)
            if tp.error is None and state is not None and tp.offset > state.committed:
                state.committed = tp.offset

    def _checkpoint(self, snapshot: Iterable[int]) -> None:
        """Cut and commit now, waiting for the broker and SNS (shutdown and rebalance: the partitions
        move on), then snapshot the ``snapshot`` partitions at the committed offset."""
        self._fence = None  # a newer cut covers everything a pending one would commit
        fence = self._cut()
        self._raise_on_delivery_errors(self._producer.flush(60))
        if not self._alerts.wait_for(fence.alerts, timeout=60):
            raise ScorerError("SNS did not accept the alerts within 60 s; offsets left uncommitted")
        self._commit(fence, asynchronous=False)
        for p in snapshot:
            state = self._partitions[p]
            if state.position == state.committed > state.snapshot_at:
                state.start_capture()
                self._save_snapshot(p, state, math.inf)

    def _start_snapshots(self, now: float) -> None:
        """At most one partition per ``interval / partitions``: spreads the work out."""
        if not self._partitions:
            return
        if now - self._last_snapshot < self.settings.scorer_snapshot_seconds / len(self._partitions):
            return
        self._last_snapshot = now
        ready = {p: s for p, s in self._partitions.items() if s.capture is None and not s.replaying}
        behind = {p: s.committed - s.snapshot_at for p, s in ready.items() if s.committed > s.snapshot_at}
        if behind:
            self._partitions[max(behind, key=lambda p: behind[p])].start_capture()  # the longest replay saved

    def _advance_snapshots(self) -> None:
        """Serialise a slice of each capture in progress; upload those complete and committed."""
        for partition, state in self._partitions.items():
            if state.capture is not None:
                self._save_snapshot(partition, state, _SNAPSHOT_SLICE)

    def _save_snapshot(self, partition: int, state: PartitionState, seconds: float) -> None:
        offset = state.capture_at
        capture = state.advance_capture(seconds)
        if capture is not None:
            self._snapshots.save(partition, offset, capture)

    # --- rebalancing -----------------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Restore each partition's state and start it where its state ends (replaying up to the commit)."""
        committed = consumer.committed(partitions, timeout=30)
        restored = []
        for tp in committed:
            state, start, source = self._restore(tp.partition, tp.offset)
            self._partitions[tp.partition] = state
            tp.offset = start
            restored.append(
                {
                    "partition": tp.partition,
                    "state": source,
                    "from": state.position,
                    "decide_from": state.resume_at,
                }
            )
        self._parked.clear()
        consumer.assign(committed)
        log.info("partitions assigned", extra={"partitions": restored})

    def _restore(self, partition: int, committed: int) -> tuple[PartitionState, int, str]:
        """(state, offset to start reading at, where the state came from) for a newly assigned partition."""
        resume_at = max(committed, 0)  # no commit yet (OFFSET_INVALID): decide everything
        parked = self._parked.get(partition)
        if parked is not None and parked.position == resume_at:
            parked.resume_at = resume_at
            return parked, resume_at, "kept"
        found = self._snapshots.load(partition, resume_at) if resume_at > 0 else None
        if found is None:
            return PartitionState(OnlineFeatures(), resume_at, 0, 0), OFFSET_BEGINNING, "replay"
        offset, features = found
        return PartitionState(features, resume_at, offset, offset), offset, "snapshot"

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Checkpoint and snapshot while we own the partitions, so the next owner starts exactly there."""
        revoked = [tp.partition for tp in partitions if tp.partition in self._partitions]
        if not self._healthy:
            self._on_lost(_consumer, partitions)
            return
        self._checkpoint(snapshot=revoked)
        self._snapshots.wait()
        for partition in revoked:
            state = self._partitions.pop(partition)
            if state.position == state.committed:
                self._parked[partition] = state
        log.info("partitions revoked", extra={"partitions": revoked})

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Ownership already moved: the new owner replays what we did not commit; drop our state."""
        self._fence = None
        for tp in partitions:
            self._partitions.pop(tp.partition, None)
        log.warning("partitions lost", extra={"partitions": [tp.partition for tp in partitions]})
