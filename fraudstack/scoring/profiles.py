"""Entity profiles for the streaming scorer: an aggregator service and the table each scorer reads.

Why a separate service: transactions are keyed by card, so the scorer partition that decides
a transaction holds its card's whole history but only a sliver of its merchant's, device's,
IP's or customer's. The Kafka-native answer (Kafka Streams' repartition + GlobalKTable) is
what this module does, on confluent-kafka:

1. **Repartition.** The aggregator's consumer group reads ``transactions`` and writes one
   small record per entity the transaction names to ``entity-events``, keyed
   ``<entity>:<id>``: every transaction of one merchant lands in one partition.
2. **Aggregate.** The same group reads ``entity-events``; each member holds, per assigned
   partition, the exact :class:`~fraudstack.features.EntityProfiles` of its entities (the
   online form the parity tests hold equal to the batch form), rebuilt on assignment by
   replaying the partition from its start (on Kafka/MSK give ``entity-events`` a retention of
   ``LOOKBACK`` plus a day: that bounds the replay and is all the state needs). Every member
   reads the whole ``labels`` topic (labels are ~1% of the traffic) and applies each to the
   transactions it holds.
3. **Publish.** Every ``publish_interval`` it writes the profile of each entity that changed
   to ``entity-profiles`` (compacted on Kafka/MSK), keyed like ``entity-events``: the feature
   values a transaction right after the entity's newest one would get, with that time.
4. **Read as a table.** Each scorer runs a :class:`ProfileTable`: a thread reading every
   partition of ``entity-profiles`` from the start into a dict, looked up per transaction.

Scale-out: the aggregator is a consumer group like the scorer (members share the
``transactions`` and ``entity-events`` partitions); every scorer holds the whole table, which
is the entities of the last ``LOOKBACK`` - one small record each.

Consistency: a profile is exact as of its entity's newest transaction the aggregator applied
(``last``), and the labels it had read. The scorer uses it for a later transaction ``t`` with
two corrections that keep it exact when nothing happened at the entity in between: a window
that ends before ``t`` reaches back to ``last`` is empty. It is not exact (it lags) for
transactions of the entity still in the aggregator's pipeline (two broker hops, tens of
milliseconds), for events leaving a window partly between ``last`` and ``t``, and for labels
known between them. Tests hold the published profiles equal to the batch form's features.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, Producer, TopicPartition

from fraudstack.features.definitions import ENTITIES, ENTITY_FEATURES, ENTITY_WINDOWS, KEY, LABEL_WINDOWS
from fraudstack.features.online import EntityProfiles, EntityState, to_micros
from fraudstack.kafka.config import consumer_config, producer_config
from fraudstack.kafka.topics import ensure_topics
from fraudstack.labels import validate_label
from fraudstack.schema import validate_event
from fraudstack.settings import Settings
from fraudstack.wire import parse_event, wire_form

log = logging.getLogger(__name__)

NAN = math.nan
_WIDTH = len(next(iter(ENTITY_FEATURES.values())))
_NO_ENTITY = [NAN] * _WIDTH
#: Profile of an entity with no transaction yet (what the batch form gives its first one).
_NEVER_SEEN = EntityState().features(0)


def _expiry() -> list[tuple[int, float]]:
    """Per position of a profile: its window's length and its value once the window is empty."""
    lengths = {**ENTITY_WINDOWS, **LABEL_WINDOWS}
    names = [f.name for f in next(iter(ENTITY_FEATURES.values()))]
    return [(lengths[name.rsplit("_", 1)[1]], NAN if "_fraud_rate_" in name else 0.0) for name in names]


_EXPIRY = _expiry()
_SHORTEST = min(length for length, _ in _EXPIRY)


def profile_key(entity: str, entity_id: str) -> bytes:
    return f"{entity}:{entity_id}".encode()


def encode_profile(values: list[float], last: int) -> bytes:
    """``{"last": micros, "v": [...]}``; NaN as null (JSON has no NaN)."""
    return json.dumps({"last": last, "v": [None if v != v else v for v in values]}).encode()


def decode_profile(raw: bytes) -> tuple[list[float], int]:
    body = json.loads(raw)
    return [NAN if v is None else float(v) for v in body["v"]], int(body["last"])


def as_of(values: list[float], last: int, t: int) -> list[float]:
    """A profile published as of ``last`` (its entity's newest transaction), read at ``t``.

    Windows that no longer reach back to ``last`` hold none of the entity's transactions: a
    device idle for a day has no transactions in its last hour, whatever was published then.
    """
    if t - _SHORTEST <= last:
        return values  # the common case: every window still reaches back to ``last``
    return [
        empty if t - length > last else value for value, (length, empty) in zip(values, _EXPIRY, strict=True)
    ]


class ProfileTable:
    """The ``entity-profiles`` topic as a table, kept current by a background thread.

    Why every partition from the start and no consumer group: each scorer decides transactions
    of any merchant, so it needs every profile (the GlobalKTable pattern); a compacted topic
    holds one record per entity, so reading it whole is reading the table.
    """

    def __init__(self, settings: Settings) -> None:
        self._topic = settings.topic_entity_profiles
        self._profiles: dict[str, tuple[list[float], int]] = {}
        ensure_topics(settings, [self._topic])
        self._consumer = Consumer(
            consumer_config(
                settings, f"{settings.scorer_group_id}-profiles-reader", client_id="fraudstack-profile-table"
            )
        )
        partitions = self._consumer.list_topics(self._topic, timeout=10).topics[self._topic].partitions
        self._consumer.assign([TopicPartition(self._topic, p, OFFSET_BEGINNING) for p in partitions])
        self.applied = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="profile-table", daemon=True)

    def __len__(self) -> int:
        return len(self._profiles)

    def start(self) -> ProfileTable:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._consumer.close()

    def features(self, event: Mapping[str, Any]) -> list[float]:
        """The event's entity features (every entity of :data:`ENTITIES`, in order) from the table."""
        t = to_micros(event["event_time"])
        out: list[float] = []
        profiles = self._profiles
        for entity, column in ENTITIES.items():
            entity_id = event.get(column)
            if entity_id is None:
                out += _NO_ENTITY
                continue
            found = profiles.get(f"{entity}:{entity_id}")
            out += _NEVER_SEEN if found is None else as_of(found[0], found[1], t)
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self._consumer.consume(1000, 0.1):
                key, value = message.key(), message.value()
                if message.error() is not None or key is None or value is None:
                    continue
                try:
                    self._profiles[key.decode()] = decode_profile(value)
                except (ValueError, KeyError, TypeError):
                    log.warning("unreadable entity profile", extra={"key": str(message.key())})
                    continue
                self.applied += 1


class ProfileAggregator:
    """One member of the aggregator group: repartitions transactions, keeps profiles, publishes them."""

    def __init__(self, settings: Settings, max_batch: int = 2000, publish_interval: float = 0.05) -> None:
        self.settings = settings
        self.max_batch = max_batch
        self.publish_interval = publish_interval
        self._tx_topic = settings.topic_transactions
        self._events_topic = settings.topic_entity_events
        self._profiles_topic = settings.topic_entity_profiles
        ensure_topics(
            settings, [self._tx_topic, self._events_topic, self._profiles_topic, settings.topic_labels]
        )
        self._consumer = Consumer(
            consumer_config(settings, settings.profiles_group_id, client_id="fraudstack-profiles")
        )
        self._labels = Consumer(
            consumer_config(settings, f"{settings.profiles_group_id}-labels", client_id="fraudstack-profiles")
        )
        partitions = self._labels.list_topics(settings.topic_labels, timeout=10).topics[settings.topic_labels]
        self._labels.assign(
            [TopicPartition(settings.topic_labels, p, OFFSET_BEGINNING) for p in partitions.partitions]
        )
        self._producer = Producer(
            producer_config(settings, client_id="fraudstack-profiles", **{"linger.ms": 5})
        )
        #: entity-events partition -> its entities' profiles, one EntityProfiles per entity kind.
        self._state: dict[int, dict[str, EntityProfiles]] = {}
        #: Every fraud label read (transaction -> earliest known_at), to seed a partition rebuilt later.
        self._known: dict[str, int] = {}
        self._touched: set[tuple[int, str, str]] = set()
        self._positions: dict[int, int] = {}
        self.stats = {"transactions": 0, "entity_events": 0, "labels": 0, "published": 0}

    def run(self, stop: threading.Event, exit_when_idle: float | None = None) -> dict[str, int]:
        self._consumer.subscribe(
            [self._tx_topic, self._events_topic], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        last_record = last_publish = last_commit = time.monotonic()
        try:
            while not stop.is_set():
                labels = self._labels.consume(self.max_batch, 0)
                messages = self._consumer.consume(self.max_batch, 0.0 if labels else 0.05)
                now = time.monotonic()
                if labels or messages:
                    last_record = now
                for message in labels:
                    self._label(message)
                for message in messages:
                    self._apply(message)
                if self._touched and now - last_publish >= self.publish_interval:
                    self._publish()
                    last_publish = now
                self._producer.poll(0)
                if now - last_commit >= 0.5:
                    self._commit()
                    last_commit = now
                if exit_when_idle is not None and now - last_record >= exit_when_idle:
                    break
            self._publish()
            self._commit()
        finally:
            self._consumer.close()
            self._labels.close()
            self._producer.flush(30)
        log.info("profile aggregator stopped", extra=self.stats)
        return self.stats

    # --- records --------------------------------------------------------------------------------
    def _apply(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.fatal():
                raise KafkaException(error)
            return
        if message.topic() == self._tx_topic:
            self._repartition(message)
        else:
            self._aggregate(message)

    def _repartition(self, message: Message) -> None:
        """One entity-events record per entity the transaction names (invalid ones are the scorer's)."""
        partition, offset, value = message.partition(), message.offset(), message.value()
        assert partition is not None and offset is not None
        self._positions[partition] = offset + 1
        if value is None:
            return
        event = parse_event(value)
        if event is None:
            result = validate_event(value)
            if result.event is None:
                return
            event = wire_form(result.event)
        t = to_micros(event["event_time"])
        body = {"tx": event["transaction_id"], "t": t, "a": event["amount"], "card": event[KEY]}
        for entity, column in ENTITIES.items():
            entity_id = event.get(column)
            if entity_id is not None:
                record = json.dumps({**body, "e": entity, "id": entity_id}).encode()
                self._produce(self._events_topic, profile_key(entity, entity_id), record)
        self.stats["transactions"] += 1

    def _aggregate(self, message: Message) -> None:
        partition = message.partition()
        value = message.value()
        assert partition is not None
        state = self._state.get(partition)
        if state is None or value is None:
            return
        record = json.loads(value)
        entity, entity_id = record["e"], record["id"]
        event = {
            "transaction_id": record["tx"],
            "event_time": record["t"],
            "amount": record["a"],
            KEY: record["card"],
            ENTITIES[entity]: entity_id,
        }
        state[entity].add(event)
        self._touched.add((partition, entity, entity_id))
        self.stats["entity_events"] += 1

    def _label(self, message: Message) -> None:
        value = message.value()
        if message.error() is not None or value is None:
            return
        label = validate_label(value).label
        if label is None or not label.is_fraud:
            return
        known_at = to_micros(label.known_at)
        tx = label.transaction_id
        if tx in self._known and self._known[tx] <= known_at:
            return
        self._known[tx] = known_at
        row = {"transaction_id": tx, "is_fraud": True, "known_at": known_at}
        for partition, kinds in self._state.items():
            for entity, profiles in kinds.items():
                profiles.label(row)
                seen = profiles.transactions.get(tx)
                if seen is not None and seen[1][0] is not None:
                    self._touched.add((partition, entity, seen[1][0]))
        self.stats["labels"] += 1

    def _publish(self) -> None:
        """The profile of every entity that changed since the last publish."""
        for partition, entity, entity_id in self._touched:
            kinds = self._state.get(partition)
            if kinds is None:
                continue  # revoked meanwhile: the new owner publishes it
            state = kinds[entity].states[entity][entity_id]
            last = state.times[-1]
            value = encode_profile(state.features(last + 1), last)
            self._produce(self._profiles_topic, profile_key(entity, entity_id), value)
            self.stats["published"] += 1
        self._touched.clear()

    def _produce(self, topic: str, key: bytes, value: bytes) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key)
                return
            except BufferError:
                self._producer.poll(0.01)

    def _commit(self) -> None:
        """Commit the transactions read once their entity-events are acknowledged (at-least-once;
        a replayed transaction is counted once: profiles ignore a transaction they hold)."""
        if not self._positions:
            return
        self._producer.flush(30)
        offsets = [TopicPartition(self._tx_topic, p, o) for p, o in self._positions.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning(
                "offset commit failed; transactions may be repartitioned again", extra={"error": str(exc)}
            )
        self._positions.clear()

    # --- rebalancing ----------------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Transactions resume at the committed offset; entity-events partitions replay from the start."""
        committed = consumer.committed([tp for tp in partitions if tp.topic == self._tx_topic], timeout=30)
        assigned = list(committed)
        for tp in partitions:
            if tp.topic == self._events_topic:
                profiles = {entity: EntityProfiles({entity: column}) for entity, column in ENTITIES.items()}
                for kind in profiles.values():
                    kind.known.update(self._known)
                self._state[tp.partition] = profiles
                assigned.append(TopicPartition(self._events_topic, tp.partition, OFFSET_BEGINNING))
        consumer.assign(assigned)
        log.info("partitions assigned", extra={"partitions": [(tp.topic, tp.partition) for tp in assigned]})

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._publish()
        self._commit()
        for tp in partitions:
            if tp.topic == self._events_topic:
                self._state.pop(tp.partition, None)
            else:
                self._positions.pop(tp.partition, None)
