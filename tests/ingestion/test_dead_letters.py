"""Malformed and invalid records go to the dead-letter topic with a reason; the rest flows on."""

from __future__ import annotations

import json
from typing import Any

from confluent_kafka import Producer

from fraudstack.ingestion.producer import produce_events
from fraudstack.kafka.config import producer_config
from fraudstack.kafka.topics import ensure_topics
from fraudstack.schema import event_to_json_bytes
from tests.ingestion.conftest import Pipeline, make_events
from tests.support.kafka import read_dead_letters
from tests.support.stack import stop_process


def _invalid(valid: dict[str, Any]) -> list[tuple[bytes | None, str]]:
    """(value, expected start of the reason) for every kind of bad record."""
    wire = json.loads(event_to_json_bytes(valid))
    return [
        (b"this is not json", "not valid JSON"),
        (b'{"transaction_id": "tx_trunc', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid UTF-8"),
        (b"[1, 2, 3]", "not a JSON object"),
        (json.dumps({**wire, "schema_version": 2}).encode(), "schema_version: unsupported version 2"),
        (
            json.dumps({k: v for k, v in wire.items() if k != "schema_version"}).encode(),
            "schema_version: missing",
        ),
        (json.dumps({**wire, "amount": -5}).encode(), "amount:"),
        (json.dumps({k: v for k, v in wire.items() if k != "card_id"}).encode(), "card_id:"),
        (
            json.dumps({**wire, "event_time": "2025-03-01T12:00:00"}).encode(),
            "event: event_time must be a UTC",
        ),
        (b"", "not valid JSON"),
        (None, "empty record"),
    ]


def test_invalid_records_are_dead_lettered_and_valid_ones_flow(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    ensure_topics(settings, [settings.topic_transactions, settings.topic_dead_letter])
    valid = make_events(3000, "dlq")
    invalid = _invalid(valid[0])
    # A valid event spread over several lines must still be one line in the lake.
    pretty = make_events(1, "pretty")[0]
    pretty_bytes = json.dumps(json.loads(event_to_json_bytes(pretty)), indent=2).encode()

    bridge = pipeline.start_bridge()
    try:
        producer = Producer(producer_config(settings))
        for i, event in enumerate(valid):
            producer.produce(settings.topic_transactions, event_to_json_bytes(event), key=event["card_id"])
            if i % 250 == 0:  # interleave a bad record every 250 good ones
                value, _ = invalid[(i // 250) % len(invalid)]
                producer.produce(settings.topic_transactions, value, key=f"bad-{i}")
        producer.produce(settings.topic_transactions, pretty_bytes, key=pretty["card_id"])
        assert producer.flush(30) == 0
        sent_bad = {f"bad-{i}": invalid[(i // 250) % len(invalid)] for i in range(0, len(valid), 250)}

        expected = {e["transaction_id"] for e in valid} | {pretty["transaction_id"]}
        seen = pipeline.wait_for_lake(expected, timeout=60)
        assert set(seen) == expected  # json.loads of every lake line worked: one record per line

        dead = read_dead_letters(settings, len(sent_bad), timeout=30)
        assert set(dead) == set(sent_bad), "every bad record dead-lettered once, nothing else"
        for key, (value, reason_start) in sent_bad.items():
            dead_value, headers = dead[key]
            assert dead_value == value, "the original bytes are kept"
            assert headers["dlq.reason"].decode().startswith(reason_start), headers["dlq.reason"]
            assert headers["dlq.source.topic"].decode() == settings.topic_transactions
            assert {"dlq.source.partition", "dlq.source.offset", "dlq.failed.at"} <= set(headers)

        # Still running, still forwarding.
        assert bridge.poll() is None, pipeline.bridge_log()
        later = make_events(200, "later")
        assert produce_events(settings, later).failed == 0
        pipeline.wait_for_lake({e["transaction_id"] for e in later}, timeout=30)
        assert bridge.poll() is None, pipeline.bridge_log()
    finally:
        code = stop_process(bridge)
    assert code == 0, pipeline.bridge_log()
