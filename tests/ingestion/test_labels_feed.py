"""The label feed on the real stack: labels topic -> bridge -> lake ``labels/`` -> ETL -> ``fact_labels``.

Malformed labels are dead-lettered by the bridge with a reason, and a malformed line that
reaches the lake anyway is quarantined by the ETL; a replayed label changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Consumer, Producer

from fraudstack.aws import client
from fraudstack.jobs import etl
from fraudstack.kafka.config import consumer_config, producer_config
from fraudstack.labels import LabelEvent, label_to_json_bytes
from fraudstack.settings import Settings
from fraudstack.warehouse import connect, migrate
from tests.ingestion.conftest import Pipeline
from tests.support import wait_until
from tests.support.stack import stop_process

MALFORMED = [
    (b"not json", "not valid JSON"),
    (
        b'{"transaction_id":"tx_x","is_fraud":true,"source":"bank","known_at":"2025-03-09T08:00:00Z"}',
        "source:",
    ),
    (
        b'{"transaction_id":"tx_x","is_fraud":true,"source":"rule","known_at":"2025-03-09T08:00:00"}',
        "known_at",
    ),
]


def _labels(tag: str, count: int) -> list[LabelEvent]:
    start = datetime(2025, 3, 9, tzinfo=UTC)
    return [
        LabelEvent(
            transaction_id=f"tx_{tag}_{i:05d}",
            is_fraud=i % 7 != 0,
            source="chargeback" if i % 3 else "analyst",
            known_at=start + timedelta(minutes=i),
        )
        for i in range(count)
    ]


def _produce(settings: Settings, values: list[tuple[bytes, str]]) -> None:
    producer = Producer(producer_config(settings))
    for value, key in values:
        producer.produce(settings.topic_labels, value, key=key)
    assert producer.flush(30) == 0


def _lake_label_lines(settings: Settings) -> list[bytes]:
    s3 = client("s3", settings)
    lines: list[bytes] = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=settings.bucket, Prefix=settings.labels_prefix
    ):
        for obj in page.get("Contents", []):
            assert obj["Key"].count("/") == 5, obj["Key"]  # labels/YYYY/MM/DD/HH/name
            lines += s3.get_object(Bucket=settings.bucket, Key=obj["Key"])["Body"].read().splitlines()
    return lines


def _fact_labels(settings: Settings, tag: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    with connect(settings) as wh:
        rows = wh.query(
            "SELECT transaction_id, source, is_fraud, known_at FROM fact_labels WHERE transaction_id LIKE %s",
            (f"tx_{tag}_%",),
        )
    return {(str(r[0]), str(r[1])): (r[2], r[3]) for r in rows}


def _dead_letters(settings: Settings, count: int) -> dict[bytes | None, str]:
    consumer = Consumer(consumer_config(settings, f"{settings.bridge_group_id}-dlq-reader"))
    consumer.subscribe([settings.topic_dead_letter])
    found: dict[bytes | None, str] = {}

    def enough() -> bool:
        for message in consumer.consume(100, 0.5):
            if message.error() is None:
                headers = dict(message.headers() or [])
                assert headers["dlq.source.topic"] == settings.topic_labels.encode()
                found[message.value()] = (headers["dlq.reason"] or b"").decode()
        return len(found) >= count

    try:
        wait_until(enough, 60, lambda: f"{len(found)} of {count} dead letters", interval=0)
    finally:
        consumer.close()
    return found


def test_label_events_reach_fact_labels_exactly_once_after_a_replay(pipeline: Pipeline) -> None:
    tag = uuid.uuid4().hex[:8]
    settings = pipeline.settings.model_copy(update={"topic_labels": f"labels-{tag}"})
    labelled = Pipeline(settings=settings, log_dir=pipeline.log_dir)
    labels = _labels(tag, 300)
    valid = [(label_to_json_bytes(label), label.transaction_id) for label in labels]

    bridge = labelled.start_bridge()
    try:
        _produce(settings, valid + [(value, f"bad-{i}") for i, (value, _) in enumerate(MALFORMED)])
        wait_until(lambda: len(_lake_label_lines(settings)) >= len(valid), 90, "labels in the lake")
        dead = _dead_letters(settings, len(MALFORMED))
        for value, reason in MALFORMED:
            assert reason in dead[value], dead[value]

        # A malformed line that reached the lake some other way: quarantined with its reason.
        s3 = client("s3", settings)
        stray = f"{settings.labels_prefix}2025/03/09/08/hand-written.ndjson"
        s3.put_object(Bucket=settings.bucket, Key=stray, Body=MALFORMED[1][0] + b"\n" + valid[0][0] + b"\n")

        with connect(settings) as wh:
            migrate(wh)  # as the ETL run does first
            first = etl.load_labels(wh, settings)
        assert (first.read, first.loaded, first.quarantined) == (len(valid) + 2, len(valid), 1)
        quarantined = s3.get_object(
            Bucket=settings.bucket, Key="quarantine/labels/2025/03/09/08/hand-written.ndjson"
        )
        record = json.loads(quarantined["Body"].read())
        assert record["reason"].startswith("source:") and record["source_object"] == stray
        stored = _fact_labels(settings, tag)
        assert stored == {(lb.transaction_id, lb.source): (lb.is_fraud, lb.known_at) for lb in labels}

        # Replay: every label delivered again (a bridge restart before its commit looks the same),
        # this time from a label file through `fraudstack produce --labels`.
        objects_before = len(_lake_label_lines(settings))
        replay = labelled.log_dir / "replay.labels.jsonl"
        replay.write_bytes(b"".join(value + b"\n" for value, _ in valid))
        sent = subprocess.run(
            [sys.executable, "-m", "fraudstack", "produce", "--labels", str(replay)],
            env={**os.environ, **settings.subprocess_env()},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (
            sent.returncode == 0 and f"sent {len(valid)}, failed 0 to {settings.topic_labels}" in sent.stdout
        ), sent
        wait_until(
            lambda: len(_lake_label_lines(settings)) >= objects_before + len(valid), 90, "replayed labels"
        )
        with connect(settings) as wh:
            again = etl.load_labels(wh, settings)
            nothing = etl.load_labels(wh, settings)
        assert (again.read, again.loaded, again.quarantined) == (len(valid), 0, 0)
        assert nothing.objects == 0
        assert _fact_labels(settings, tag) == stored
        assert bridge.poll() is None, labelled.bridge_log()
    finally:
        code = stop_process(bridge)
    assert code == 0, labelled.bridge_log()
