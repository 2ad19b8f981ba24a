"""Hostile input end to end: Kafka -> bridge -> Kinesis -> Firehose -> lake -> Glue ETL -> warehouse.

5,000 valid records (200 of them carrying SQL metacharacters, markup and escapes in every
free-text field) interleaved with 1,000 invalid ones of every kind in :mod:`tests.hostile`.
A second copy of the invalid lines is written straight into the lake, as a writer other
than the bridge could, so the ETL's own validation meets them too.

Asserted: the bridge never exits; every valid record lands in the lake and in the
warehouse exactly once, its text verbatim (nothing executed, nothing unescaped); every
invalid record is in the dead-letter topic or in ``quarantine/`` with a reason.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from fraudstack.aws import client
from fraudstack.jobs.etl import run as run_etl
from fraudstack.kafka.config import producer_config
from fraudstack.schema import event_to_json_bytes, validate_event
from fraudstack.warehouse import connect
from tests.hostile import hostile_records, nasty_valid
from tests.ingestion.conftest import Pipeline, make_events, wait_for_log
from tests.jobs.rawdata import put_objects
from tests.support.kafka import TopicReader
from tests.support.stack import stop_process

VALID = 5_000
NASTY = 200
HOSTILE = 1_000


def hostile_mix(tag: str) -> tuple[list[bytes], dict[str, dict[str, Any]], list[bytes]]:
    """(records in produce order, valid events by id, the invalid records), seeded."""
    events = make_events(VALID, tag)
    for i in range(NASTY):  # own merchant per nasty event: its dimension row holds its text
        index = i * (VALID // NASTY)
        event = nasty_valid(events[index], i, events[index]["transaction_id"])
        events[index] = dict(event, merchant_id=f"mer_nasty_{tag}_{i}")
    invalid = [r for r in hostile_records(events[:50], HOSTILE * 2, seed=5) if not validate_event(r).ok]
    invalid = invalid[:HOSTILE]
    assert len(invalid) == HOSTILE
    records = [event_to_json_bytes(e) for e in events]
    rng = random.Random(9)
    for record in invalid:
        records.insert(rng.randrange(len(records) + 1), record)
    return records, {e["transaction_id"]: e for e in events}, invalid


def test_hostile_records_neither_stop_nor_leak_into_the_pipeline(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    tag = uuid.uuid4().hex[:6]
    records, valid, invalid = hostile_mix(tag)

    bridge = pipeline.start_bridge()
    try:
        wait_for_log(pipeline, "partitions assigned", timeout=60)
        producer = Producer(producer_config(settings, client_id="hostile-test"))
        for n, record in enumerate(records):
            producer.produce(settings.topic_transactions, value=record, key=str(n % 64).encode())
            producer.poll(0)
        assert producer.flush(60) == 0

        seen = pipeline.wait_for_lake(set(valid), timeout=180)
        assert bridge.poll() is None, f"the bridge exited:\n{pipeline.bridge_log()}"
    finally:
        code = stop_process(bridge)
    assert code == 0, pipeline.bridge_log()
    assert set(seen) == set(valid), "only valid records reach the lake"
    assert max(seen.values()) == 1, "a clean run lands each record once"

    dead = TopicReader(settings, settings.topic_dead_letter)
    try:
        while len(dead.messages) < len(invalid):
            dead.read(1.0)
    finally:
        dead.close()
    reasons = {m.value(): dict(m.headers() or [])["dlq.reason"].decode() for m in dead.messages}
    assert Counter(m.value() for m in dead.messages) == Counter(invalid), "every invalid record, once"
    assert all(reason.strip() and "\n" not in reason for reason in reasons.values())

    # The same hostile lines written straight into the lake meet the ETL's validation.
    s3 = client("s3", settings)
    put_objects(s3, settings.bucket, datetime(2025, 3, 1, 23, tzinfo=UTC), [invalid], stream="outsider")
    etl_lines = [line for line in invalid if line.strip(b" ")]

    from fraudstack.spark import spark_session

    spark = spark_session("hostile-etl", settings)
    try:
        summary = run_etl(spark, settings)
    finally:
        spark.stop()
    assert summary.rows_quarantined == len(etl_lines), summary
    quarantined = _quarantine(settings.bucket, s3)
    assert len(quarantined) == len(etl_lines)
    assert all(row["reason"] and "\n" not in row["reason"] for row in quarantined)

    with connect(settings) as wh:
        loaded = Counter(
            r[0]
            for r in wh.query(
                "SELECT transaction_id FROM fact_transactions WHERE etl_run_id = %s", (summary.run_id,)
            )
        )
        assert loaded == Counter(set(valid)), "every valid record in the warehouse exactly once"
        nasty = {e["merchant_id"]: e for e in valid.values() if e["merchant_id"].startswith("mer_nasty_")}
        stored = wh.query(
            "SELECT merchant_id, merchant_name, merchant_category FROM dim_merchant "
            "WHERE merchant_id = ANY(%s)",
            (list(nasty),),
        )
        assert {r[0]: (r[1], r[2]) for r in stored} == {
            m: (e["merchant_name"], e["merchant_category"]) for m, e in nasty.items()
        }, "hostile text is stored verbatim"
        cities = {
            r[0]
            for r in wh.query(
                "SELECT city FROM dim_location WHERE city = ANY(%s)",
                ([e["city"] for e in nasty.values()],),
            )
        }
        assert cities == {e["city"] for e in nasty.values()}
        assert wh.query("SELECT count(*) FROM fact_transactions")[0][0] >= VALID, "no table was dropped"


def _quarantine(bucket: str, s3: Any) -> list[dict[str, Any]]:
    """The quarantined rows the ETL wrote (JSON lines under ``quarantine/``)."""
    rows: list[dict[str, Any]] = []
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="quarantine/").get("Contents", [])
    for obj in listed:
        if obj["Key"].endswith(".json"):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            rows.extend(json.loads(line) for line in body.splitlines() if line.strip())
    return rows
