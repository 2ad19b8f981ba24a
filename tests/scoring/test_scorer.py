"""The streaming scorer against the real broker and emulator: equal to batch, at-least-once, exact state.

Every test checks decisions against the batch path (batch feature form + the same model's
predict), so "no transaction missed" and "identical features after a restart or rebalance"
are one assertion: each decision carries the feature vector it was scored with
(``scorer_include_features``), and all of them - replays included - must equal the batch
features of the same transaction.
"""

from __future__ import annotations

import signal
import threading
import uuid
from pathlib import Path

import numpy as np
from confluent_kafka import Producer

from fraudstack.aws import client
from fraudstack.ingestion.producer import produce_events
from fraudstack.kafka.config import producer_config
from fraudstack.model.fraud_model import FraudModel
from fraudstack.observability import MetricsPublisher
from fraudstack.provisioning.declaration import declare
from fraudstack.provisioning.local import deploy
from fraudstack.schema import event_to_json_bytes
from fraudstack.scoring import DECISION_TYPES, Scorer, Thresholds
from tests.scoring.conftest import DecisionReader, ScorerRun, alert_ids, assert_matches_batch, batch_reference
from tests.support.kafka import TopicReader
from tests.support.scoring import publish_model
from tests.support.simulated import stream_events


def _produce_in_background(run: ScorerRun, events: list[dict], rate: float) -> threading.Thread:
    thread = threading.Thread(target=produce_events, args=(run.settings, events), kwargs={"rate": rate})
    thread.start()
    return thread


def test_decisions_equal_the_batch_scores(run: ScorerRun, tiny_model: FraudModel) -> None:
    settings = run.settings.model_copy(update={"scorer_alert_threshold": 0.5})
    events = stream_events(customers=300, days=4, seed=11)
    ids = {e["transaction_id"] for e in events}
    assert produce_events(settings, events).sent == len(events)

    stop = threading.Event()
    with MetricsPublisher(settings, "scorer", flush_interval=1.0) as metrics:
        scorer = Scorer(settings, metrics=metrics, commit_interval=0.2)
        worker = threading.Thread(target=scorer.run, args=(stop,))
        worker.start()
        reader = DecisionReader(settings, settings.topic_decisions)
        try:
            decisions = reader.wait_for(ids, timeout=120)
        finally:
            stop.set()
            worker.join(30)
            reader.close()
    assert not worker.is_alive()
    assert len(decisions) == len(ids), "a clean run decides each transaction once"
    assert scorer.stats.decided == len(ids) and scorer.stats.dead_lettered == 0

    assert_matches_batch(decisions, batch_reference(tiny_model, events))
    thresholds = Thresholds.from_settings(settings, tiny_model.threshold)
    scores = np.array([d["score"] for d in decisions])
    assert [d["decision"] for d in decisions] == [DECISION_TYPES[c] for c in thresholds.decide(scores)]
    assert {d["model_version"] for d in decisions} == {tiny_model.version}
    flagged = [d for d in decisions if d["decision"] != "approve"]
    assert flagged, "the stream should hold some reviews or declines"
    assert all(d["reasons"] for d in flagged), "reviews and declines carry reason codes"
    assert all(d["reasons"] is None for d in decisions if d["decision"] == "approve")

    alerted = {d["transaction_id"] for d in flagged if d["score"] >= thresholds.alert}
    assert alerted and alerted <= alert_ids(settings, expected=len(alerted))

    names = {
        m["MetricName"]
        for m in client("cloudwatch", settings).list_metrics(
            Namespace=settings.metrics_namespace, Dimensions=[{"Name": "Service", "Value": "scorer"}]
        )["Metrics"]
    }
    assert {"RecordsIn", "DecisionsApprove", "EndToEndLatency", "ConsumerLag", "Throughput"} <= names


def test_malformed_events_go_to_the_dead_letter_topic(run: ScorerRun) -> None:
    settings = run.settings
    events = stream_events(customers=100, days=2, seed=13)
    half = len(events) // 2
    bad = [
        b"not json at all",
        b'{"schema_version": 2, "transaction_id": "tx_future"}',
        event_to_json_bytes({**events[0], "transaction_id": "tx_bad_amount", "amount": -5}),
        None,
    ]
    scorer = run.start()
    produce_events(settings, events[:half])
    producer = Producer(producer_config(settings))
    for value in bad:
        producer.produce(settings.topic_transactions, value=value, key=b"card_bad")
    producer.flush(10)
    produce_events(settings, events[half:])

    reader = DecisionReader(settings, settings.topic_decisions)
    decisions = reader.wait_for({e["transaction_id"] for e in events}, timeout=120)
    reader.close()
    assert "tx_bad_amount" not in {d["transaction_id"] for d in decisions}
    dead = TopicReader(settings, settings.topic_dead_letter)
    dead.wait_for_count(len(bad), timeout=20)
    dead.close()
    reasons = sorted(dict(m.headers())["dlq.reason"].decode() for m in dead.messages)
    assert len(reasons) == len(bad), reasons
    assert any("not valid JSON" in r for r in reasons)
    assert any("unsupported version 2" in r for r in reasons)
    assert any(r.startswith("amount") for r in reasons)
    assert "empty record (no value)" in reasons
    assert scorer.poll() is None, run.log_tail()


def test_sigkill_mid_stream_misses_nothing_and_rebuilds_identical_state(
    run: ScorerRun, tiny_model: FraudModel
) -> None:
    events = stream_events(customers=300, days=4, seed=12)
    ids = {e["transaction_id"] for e in events}
    first = run.start("first")
    run.wait_for_log("partitions assigned", name="first")
    producing = _produce_in_background(run, events, rate=500)

    reader = DecisionReader(run.settings, run.settings.topic_decisions)
    run.wait_for_log("state snapshot saved", name="first")
    while len(reader.decisions) < len(ids) // 3:
        reader.read(0.05)
    first.kill()  # SIGKILL: no commit, no snapshot, no goodbye
    first.wait()
    decided_before = len(reader.decisions)

    second = run.start("second")
    producing.join()
    decisions = reader.wait_for(ids, timeout=120)
    reader.close()
    assert second.poll() is None, run.log_tail("second")
    assert decided_before < len(ids), "the kill should happen mid-stream"

    assigned = run.wait_for_log("partitions assigned", name="second")["partitions"]
    assert any(p["state"] == "snapshot" for p in assigned), assigned
    # Records decided before the last commit are replayed into the state, not decided again.
    assert any(p["decide_from"] > p["from"] for p in assigned), assigned
    assert_matches_batch(decisions, batch_reference(tiny_model, events))
    print(f"\n{len(ids)} transactions, {len(decisions) - len(ids)} decided twice after SIGKILL")


def test_rebalance_between_two_scorers_keeps_every_transaction_decided(
    run: ScorerRun, tiny_model: FraudModel
) -> None:
    events = stream_events(customers=400, days=4, seed=14)
    ids = {e["transaction_id"] for e in events}
    first = run.start("first")
    run.wait_for_log("partitions assigned", name="first")
    producing = _produce_in_background(run, events, rate=1500)
    reader = DecisionReader(run.settings, run.settings.topic_decisions)
    reader.wait_for_count(1, timeout=60)  # the first scorer is deciding: the second joins mid-stream
    second = run.start("second")
    joined = run.wait_for_log("partitions assigned", name="second")["partitions"]
    assert joined, "the second scorer should take over some partitions"

    producing.join()
    decisions = reader.wait_for(ids, timeout=120)
    reader.close()
    assert_matches_batch(decisions, batch_reference(tiny_model, events))
    for name, proc in (("first", first), ("second", second)):
        assert proc.poll() is None, run.log_tail(name)
    for proc in (first, second):
        proc.send_signal(signal.SIGTERM)
    assert [proc.wait(30) for proc in (first, second)] == [0, 0]
    decided = sum(run.wait_for_log("scorer stopped", name=n)["decided"] for n in ("first", "second"))
    assert decided == len(decisions)


def test_model_swap_mid_stream_takes_effect_without_restart(
    run: ScorerRun, tiny_model: FraudModel, tmp_path: Path
) -> None:
    # Its own registry bucket: promoting a model here must not change the other tests' model.
    settings = run.settings.model_copy(update={"artifacts_bucket": f"artifacts-swap-{uuid.uuid4().hex[:8]}"})
    deploy(settings, [r for r in declare(settings) if r.name == settings.artifacts_bucket])
    publish_model(settings, tiny_model, tmp_path / "v1")
    run.settings = settings
    events = stream_events(customers=200, days=3, seed=15)
    half = len(events) // 2
    scorer = run.start()
    produce_events(settings, events[:half])
    reader = DecisionReader(settings, settings.topic_decisions)
    reader.wait_for({e["transaction_id"] for e in events[:half]}, timeout=120)

    swapped = FraudModel(
        booster=tiny_model.booster[:5],
        features=tiny_model.features,
        threshold=tiny_model.threshold,
        version=f"{tiny_model.version}-swap",
        manifest={**tiny_model.manifest, "version": f"{tiny_model.version}-swap"},
    )
    publish_model(settings, swapped, tmp_path / "v2")
    switched = run.wait_for_log("model switched", timeout=60)
    assert (switched["from_version"], switched["model_version"]) == (tiny_model.version, swapped.version)

    produce_events(settings, events[half:])
    later = {e["transaction_id"] for e in events[half:]}
    decisions = [d for d in reader.wait_for(later, timeout=120) if d["transaction_id"] in later]
    reader.close()
    assert {d["model_version"] for d in decisions} == {swapped.version}
    assert_matches_batch(decisions, batch_reference(swapped, events))
    assert scorer.poll() is None and len(run.procs) == 1, "no restart"
