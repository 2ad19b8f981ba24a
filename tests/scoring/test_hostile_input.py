"""Hostile input through the streaming scorer: it never stops, decides every valid record once.

The same kinds of invalid record as the pipeline's hostile test (:mod:`tests.hostile`),
1,000 of them interleaved with 5,000 simulated transactions, 200 of which carry SQL
metacharacters and markup in their free-text fields.
"""

from __future__ import annotations

import random
from collections import Counter

from confluent_kafka import Producer

from fraudstack.kafka.config import producer_config
from fraudstack.schema import event_to_json_bytes, validate_event
from tests.hostile import hostile_records, nasty_valid
from tests.scoring.conftest import DecisionReader, ScorerRun
from tests.support.kafka import TopicReader
from tests.support.simulated import stream_events

VALID = 5_000
NASTY = 200
HOSTILE = 1_000


def test_hostile_records_are_dead_lettered_and_valid_ones_decided_once(run: ScorerRun) -> None:
    settings = run.settings
    events = stream_events(customers=400, days=3, seed=17)[:VALID]
    for i in range(NASTY):
        index = i * (len(events) // NASTY)
        events[index] = nasty_valid(events[index], i, events[index]["transaction_id"])
    invalid = [r for r in hostile_records(events[:50], HOSTILE * 2, seed=6) if not validate_event(r).ok]
    invalid = invalid[:HOSTILE]
    records: list[tuple[bytes, bytes]] = [(event_to_json_bytes(e), e["card_id"].encode()) for e in events]
    rng = random.Random(3)
    for record in invalid:
        records.insert(rng.randrange(len(records) + 1), (record, f"hostile-{rng.randrange(64)}".encode()))

    scorer = run.start()
    run.wait_for_log("partitions assigned")
    producer = Producer(producer_config(settings, client_id="hostile-test"))
    for value, key in records:
        producer.produce(settings.topic_transactions, value=value, key=key)
        producer.poll(0)
    assert producer.flush(60) == 0

    def alive() -> None:
        assert scorer.poll() is None, f"the scorer exited:\n{run.log_tail()}"

    reader = DecisionReader(settings, settings.topic_decisions)
    try:
        decisions = reader.wait_for({e["transaction_id"] for e in events}, timeout=240, alive=alive)
    finally:
        reader.close()
    assert scorer.poll() is None, run.log_tail()
    decided = Counter(d["transaction_id"] for d in decisions)
    assert set(decided) == {e["transaction_id"] for e in events}, "only valid records are decided"
    assert max(decided.values()) == 1, "a clean run decides each record once"

    dead = TopicReader(settings, settings.topic_dead_letter)
    try:
        while len(dead.messages) < len(invalid):
            dead.read(1.0)
    finally:
        dead.close()
    assert Counter(m.value() for m in dead.messages) == Counter(invalid), "every invalid record, once"
    reasons = [dict(m.headers() or [])["dlq.reason"].decode() for m in dead.messages]
    assert all(reason.strip() and "\n" not in reason for reason in reasons)
