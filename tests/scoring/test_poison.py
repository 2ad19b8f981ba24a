"""Poison pills: a record whose processing raises is dead-lettered, and the scorer goes on.

The fault is injected in-process (the scorer runs on a thread here, not as a subprocess, so
``monkeypatch`` reaches it): the feature update raises for one transaction, scoring raises
for any batch holding a second one, and encoding the decision raises for a third - stand-ins
for a bug that only some record's content triggers. The broker, the emulator and the model
are real.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from fraudstack.features import OnlineFeatures
from fraudstack.ingestion.producer import produce_events
from fraudstack.kafka.dead_letters import POISON_PREFIX
from fraudstack.model.fraud_model import FraudModel
from fraudstack.observability import MetricsPublisher
from fraudstack.scoring import Scorer
from fraudstack.scoring import scorer as scorer_module
from fraudstack.scoring.models import ScoringModel
from tests.scoring.conftest import DecisionReader, ScorerRun, assert_matches_batch, batch_reference
from tests.support.kafka import TopicReader
from tests.support.simulated import stream_events


def test_a_record_that_raises_is_dead_lettered_and_the_rest_are_decided(
    run: ScorerRun, tiny_model: FraudModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = run.settings
    events = stream_events(customers=100, days=2, seed=17)
    in_update, in_score, in_encode = (events[len(events) * i // 4] for i in (1, 2, 3))
    poisoned = {e["transaction_id"] for e in (in_update, in_score, in_encode)}

    update = OnlineFeatures.update
    score_poison: list[list[float]] = []  # the feature row of in_score, once computed

    def failing_update(self: OnlineFeatures, event: Mapping[str, Any]) -> list[float]:
        if event["transaction_id"] == in_update["transaction_id"]:
            raise RuntimeError("feature bug")
        row = update(self, event)
        if event["transaction_id"] == in_score["transaction_id"]:
            score_poison.append(row)
        return row

    score = Scorer._score

    def failing_score(self: Scorer, model: ScoringModel, rows: list[list[float]]) -> Any:
        if any(row is poison for row in rows for poison in score_poison):
            raise FloatingPointError("model bug")
        return score(self, model, rows)

    encode = scorer_module.encode_decision

    def failing_encode(event: Mapping[str, Any], *args: Any) -> bytes:
        if event["transaction_id"] == in_encode["transaction_id"]:
            raise KeyError("encoder bug")
        return encode(event, *args)

    monkeypatch.setattr(OnlineFeatures, "update", failing_update)
    monkeypatch.setattr(Scorer, "_score", failing_score)
    monkeypatch.setattr(scorer_module, "encode_decision", failing_encode)

    assert produce_events(settings, events).failed == 0
    stop = threading.Event()
    with MetricsPublisher(settings, "scorer", flush_interval=1.0) as metrics:
        scorer = Scorer(settings, metrics=metrics, commit_interval=0.2)
        worker = threading.Thread(target=scorer.run, args=(stop,))
        worker.start()
        reader = DecisionReader(settings, settings.topic_decisions)
        try:
            healthy = {e["transaction_id"] for e in events} - poisoned

            def alive() -> None:
                assert worker.is_alive(), "the scorer stopped"

            reader.wait_for(healthy, timeout=120, alive=alive)
            # Still running and deciding what comes after.
            later = stream_events(customers=20, days=1, seed=18)
            assert produce_events(settings, later).failed == 0
            decisions = reader.wait_for(
                healthy | {e["transaction_id"] for e in later}, timeout=60, alive=alive
            )
        finally:
            stop.set()
            worker.join(30)
            reader.close()
    assert not worker.is_alive()

    assert not poisoned & {d["transaction_id"] for d in decisions}
    # The update that raised left no trace in the card state: the features of everything
    # decided equal the batch features of the stream without that record.
    without = [e for e in events if e["transaction_id"] != in_update["transaction_id"]]
    assert_matches_batch(
        [d for d in decisions if d["transaction_id"] in healthy], batch_reference(tiny_model, without)
    )

    dead = TopicReader(settings, settings.topic_dead_letter)
    dead.wait_for_count(len(poisoned), timeout=20)
    dead.close()
    reasons = {json.loads(m.value())["transaction_id"]: dict(m.headers()) for m in dead.messages}
    assert len(dead.messages) == len(poisoned), "each dead-lettered once, with its original value"
    assert (
        reasons[in_update["transaction_id"]]["dlq.reason"]
        == f"{POISON_PREFIX}RuntimeError: feature bug".encode()
    )
    assert (
        reasons[in_encode["transaction_id"]]["dlq.reason"]
        == f"{POISON_PREFIX}KeyError: 'encoder bug'".encode()
    )
    assert (
        reasons[in_score["transaction_id"]]["dlq.reason"]
        == f"{POISON_PREFIX}FloatingPointError: model bug".encode()
    )
    assert reasons[in_update["transaction_id"]]["dlq.source.topic"] == settings.topic_transactions.encode()
    assert scorer.stats.poison_pills == 3
    assert metrics.totals["PoisonPills"] == 3
