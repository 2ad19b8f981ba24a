"""The profile aggregator on the real broker: repartition, aggregate, publish, read as a table.

Two aggregator members share the work (a consumer group over ``transactions`` and
``entity-events``); labels are produced to the ``labels`` topic interleaved with the
transactions. Once both are idle, the latest published profile of every entity must equal
the batch form's features of a transaction right after the entity's newest one - the
consistency the aggregator promises - and a scorer's :class:`ProfileTable` must serve them.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from confluent_kafka import Producer

from fraudstack.features import ENTITY_FEATURES, compute_features
from fraudstack.features.definitions import ENTITIES
from fraudstack.features.online import EntityState, to_micros
from fraudstack.ingestion.producer import produce_events
from fraudstack.kafka.config import producer_config
from fraudstack.kafka.topics import ensure_topics
from fraudstack.labels import LabelEvent, label_to_json_bytes
from fraudstack.scoring.profiles import ProfileAggregator, ProfileTable, as_of, decode_profile
from fraudstack.settings import Settings
from tests.support import wait_until
from tests.support.kafka import TopicReader
from tests.support.simulated import stream_events


@pytest.fixture
def settings(scoring_base: Settings) -> Settings:
    tag = uuid.uuid4().hex[:8]
    settings = scoring_base.model_copy(
        update={
            "topic_transactions": f"tx-{tag}",
            "topic_labels": f"labels-{tag}",
            "topic_entity_events": f"entity-events-{tag}",
            "topic_entity_profiles": f"profiles-{tag}",
            "profiles_group_id": f"profiles-{tag}",
            "scorer_group_id": f"scorer-{tag}",
        }
    )
    ensure_topics(
        settings,
        [
            settings.topic_transactions,
            settings.topic_labels,
            settings.topic_entity_events,
            settings.topic_entity_profiles,
        ],
    )
    return settings


@pytest.fixture
def aggregators(settings: Settings) -> Iterator[list[ProfileAggregator]]:
    """Two members of one aggregator group, each on its own thread until the test ends."""
    stop = threading.Event()
    members = [ProfileAggregator(settings, publish_interval=0.1) for _ in range(2)]
    threads = [threading.Thread(target=member.run, args=(stop,)) for member in members]
    for thread in threads:
        thread.start()
    yield members
    stop.set()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)


def fraud_labels(events: list[dict[str, Any]]) -> list[LabelEvent]:
    """An analyst verdict on every fraud, known two hours after it."""
    return [
        LabelEvent(
            transaction_id=e["transaction_id"],
            is_fraud=True,
            source="analyst",
            known_at=pd.Timestamp(e["event_time"]).to_pydatetime() + timedelta(hours=2),
        )
        for e in events
        if e["is_fraud"]
    ]


def latest_profiles(settings: Settings) -> dict[str, tuple[list[float], int]]:
    reader = TopicReader(settings, settings.topic_entity_profiles)
    try:
        reader.read(2.0)
        return {m.key().decode(): decode_profile(m.value()) for m in reader.messages}
    finally:
        reader.close()


def probe_features(
    events: list[dict[str, Any]], labels: list[LabelEvent], newest: dict[str, int]
) -> pd.DataFrame:
    """Batch features of one probe transaction per entity, 1 us after the entity's newest one."""
    probes = []
    for key, last in newest.items():
        entity, entity_id = key.split(":", 1)
        probes.append(
            {
                "transaction_id": f"probe-{key}",
                "event_time": pd.Timestamp(last + 1, unit="us", tz="UTC"),
                "card_id": f"probe-card-{key}",
                "amount": 1.0,
                **dict.fromkeys(ENTITIES.values()),
                ENTITIES[entity]: entity_id,
            }
        )
    frame = pd.concat([pd.DataFrame(events), pd.DataFrame(probes)], ignore_index=True)
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True, format="ISO8601")
    label_frame = pd.DataFrame([label.model_dump() for label in labels])
    features = compute_features(
        frame[[*ENTITIES.values(), "transaction_id", "event_time", "card_id", "amount"]], label_frame
    )
    return features.set_axis(frame["transaction_id"])


def test_published_profiles_equal_the_batch_form(
    settings: Settings, aggregators: list[ProfileAggregator]
) -> None:
    events = stream_events(customers=150, days=10, seed=21)
    labels = fraud_labels(events)
    producer = Producer(producer_config(settings, client_id="test-labels"))
    half = len(labels) // 2
    for label in labels[:half]:  # half before the transactions, half after: both must count
        producer.produce(
            settings.topic_labels, key=label.transaction_id.encode(), value=label_to_json_bytes(label)
        )
    producer.flush(30)
    assert produce_events(settings, events).sent == len(events)
    for label in labels[half:]:
        producer.produce(
            settings.topic_labels, key=label.transaction_id.encode(), value=label_to_json_bytes(label)
        )
    producer.flush(30)

    named = sum(1 for e in events for column in ENTITIES.values() if e.get(column) is not None)
    wait_until(
        lambda: (
            sum(a.stats["entity_events"] for a in aggregators) >= named
            and sum(a.stats["transactions"] for a in aggregators) >= len(events)
            and all(a.stats["labels"] == len(labels) for a in aggregators)
        ),
        timeout=180,
        what="the aggregators applied every transaction and label",
    )
    newest: dict[str, int] = {}
    for e in events:
        for entity, column in ENTITIES.items():
            if e.get(column) is not None:
                key = f"{entity}:{e[column]}"
                newest[key] = max(newest.get(key, 0), to_micros(e["event_time"]))

    def all_published() -> dict[str, tuple[list[float], int]] | None:
        found = latest_profiles(settings)
        return found if {key: last for key, (_, last) in found.items()} == newest else None

    profiles = wait_until(
        all_published, timeout=60, what="a profile of every entity as of its newest transaction"
    )
    assert profiles is not None
    batch = probe_features(events, labels, newest)
    for entity, group in ENTITY_FEATURES.items():
        names = [f.name for f in group]
        keys = [k for k in newest if k.startswith(f"{entity}:")]
        published = np.array([profiles[k][0] for k in keys])
        expected = batch.loc[[f"probe-{k}" for k in keys], names].to_numpy()
        np.testing.assert_allclose(published, expected, rtol=1e-12, equal_nan=True, err_msg=entity)
    assert max(v[0][4] for k, v in profiles.items() if k.startswith("merchant:")) >= 1, "labels counted"

    table = ProfileTable(settings).start()
    try:
        wait_until(lambda: len(table) == len(newest), timeout=60, what="the table holds every profile")
        event = next(e for e in reversed(events) if e.get("device_id") is not None)
        merchant = f"merchant:{event['merchant_id']}"
        after = pd.Timestamp(newest[merchant] + 1, unit="us", tz="UTC").isoformat()
        served = table.features({**event, "event_time": after})
        width = len(ENTITY_FEATURES["merchant"])
        np.testing.assert_allclose(served[:width], profiles[merchant][0], equal_nan=True)
        assert not np.isnan(served[width]), "the device's profile is served too"
    finally:
        table.close()


def test_a_profile_read_later_is_exact_when_nothing_happened_at_its_entity_since() -> None:
    """Windows that no longer reach back to the profile's newest transaction are empty, the rest kept."""
    state = EntityState()
    last = to_micros(pd.Timestamp("2025-03-01T12:00:00Z"))
    for i in range(5):  # one burst at one moment: a window holds all of it or none
        state.add(last, 1_000 * (i + 1), f"card{i}")
    state.add_fraud(last, last, None)
    published = state.features(last + 1)
    for later in (timedelta(0), timedelta(hours=2), timedelta(days=2), timedelta(days=8), timedelta(days=31)):
        t = last + 1 + later // timedelta(microseconds=1)
        np.testing.assert_array_equal(as_of(published, last, t), state.features(t), err_msg=str(later))
