"""End to end: Firehose-format raw objects in S3 -> Glue ETL script -> curated S3 + warehouse.

One module-scoped scenario (Spark runs are expensive): batch 1 with in-batch duplicates and
corrupt lines, a rerun with nothing new, then batch 2 with new rows and redelivered ones.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow.parquet as pq
import pytest

from fraudstack.aws import client
from fraudstack.jobs import etl as job
from fraudstack.settings import Settings
from fraudstack.warehouse import Warehouse, connect
from tests.jobs.rawdata import lines, put_objects
from tests.support.stack import RunningStack

LABEL_LINE = (
    b'{"transaction_id":"%s","is_fraud":true,"source":"chargeback","known_at":"2026-11-20T08:00:00Z"}'
)
CORRUPT = {
    b'{"schema_version": 1, "transaction_id": "tx_broken"': "not valid JSON",
    b'{"schema_version": 2, "transaction_id": "tx_v2"}': "schema_version: unsupported version 2",
    b"[1, 2, 3]": "not a JSON object",
}


@dataclass
class Scenario:
    settings: Settings
    first: Any
    rerun: Any
    second: Any
    batch1: list[bytes]
    batch2: list[bytes]
    curated_rows: int
    curated_keys: list[str]


def _variant(line: bytes, transaction_id: str, event_time: str, issuing_bank: str) -> bytes:
    event = json.loads(line)
    event.update(transaction_id=transaction_id, event_time=event_time, issuing_bank=issuing_bank)
    return json.dumps(event).encode()


def _bad_currency(line: bytes) -> bytes:
    return line.replace(b'"currency":"EUR"', b'"currency":"eur"')


def _blank_city(line: bytes) -> bytes:
    return line.replace(b'"city":"', b'"city":"   ').replace(b'"city":"   Paris"', b'"city":"   "')


@pytest.fixture(scope="module")
def scenario(stack: RunningStack) -> Iterator[Scenario]:
    from fraudstack.spark import spark_session

    settings = stack.settings.model_copy(update={"bucket": f"etl-test-{uuid.uuid4().hex[:8]}"})
    s3 = client("s3", settings)
    s3.create_bucket(Bucket=settings.bucket)
    spark = spark_session("etl-test", settings)
    try:
        batch1 = lines("b1", 300)
        corrupt = [*CORRUPT, _bad_currency(lines("bad", 1)[0]), _blank_city(lines("blank", 3, seed=3)[0])]
        hour = datetime(2026, 11, 1, 10, tzinfo=UTC)
        # Three objects; the last redelivers 20 lines of the first (at-least-once delivery).
        put_objects(
            s3,
            settings.bucket,
            hour,
            [batch1[:150] + corrupt[:3], [*batch1[150:], b"  "], batch1[:20] + corrupt[3:]],
        )
        first = job.run(spark, settings)
        # Label events arrive with no new transactions: the run loads them all the same.
        s3.put_object(
            Bucket=settings.bucket,
            Key=f"{settings.labels_prefix}2026/11/01/12/labels-1.ndjson",
            Body=LABEL_LINE % json.loads(batch1[0])["transaction_id"].encode() + b"\nnot a label\n",
        )
        rerun = job.run(spark, settings)
        batch2 = lines("b2", 200, seed=11, spacing_s=3600)  # 200 hours of event time: a backfill
        # The same card re-issued by another bank, seen late and (out of order) early too.
        rebanked = [
            _variant(batch1[0], "tx_rebank_new", "2026-11-20T00:00:00.000000Z", "Bank Renamed"),
            _variant(batch1[0], "tx_rebank_old", "2026-10-01T00:00:00.000000Z", "Bank Old"),
        ]
        put_objects(
            s3, settings.bucket, datetime(2026, 11, 1, 11, tzinfo=UTC), [batch2 + batch1[290:] + rebanked]
        )
        second = job.run(spark, settings)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=settings.bucket, Prefix="curated/")["Contents"]]
        yield Scenario(
            settings, first, rerun, second, batch1, batch2, _curated_rows(s3, settings.bucket), keys
        )
    finally:
        spark.stop()


@pytest.fixture(scope="module")
def wh(scenario: Scenario) -> Iterator[Warehouse]:
    with connect(scenario.settings) as warehouse:
        yield warehouse


def _curated_rows(s3: Any, bucket: str) -> int:
    """Rows in the curated Parquet files, read with pyarrow (no Spark job needed)."""
    total = 0
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix="curated/transactions/")["Contents"]:
        if obj["Key"].endswith(".parquet"):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            total += pq.read_metadata(io.BytesIO(body)).num_rows
    return total


def _ids(batch: list[bytes]) -> set[str]:
    return {json.loads(line)["transaction_id"] for line in batch}


def _loaded(wh: Warehouse, scenario: Scenario) -> set[str]:
    runs = [scenario.first.run_id, scenario.second.run_id]
    return {
        r[0]
        for r in wh.query("SELECT transaction_id FROM fact_transactions WHERE etl_run_id = ANY(%s)", (runs,))
    }


def test_first_run_loads_each_distinct_valid_transaction_once(scenario: Scenario, wh: Warehouse) -> None:
    first = scenario.first
    assert (first.objects_read, first.rows_read) == (3, 300 + 20 + 5)
    assert (first.rows_loaded, first.duplicates_dropped, first.rows_quarantined) == (300, 20, 5)
    rows = wh.query(
        "SELECT count(*), count(DISTINCT transaction_id) FROM fact_transactions WHERE etl_run_id = %s",
        (first.run_id,),
    )
    assert rows == [(300, 300)]


def test_rerun_loads_nothing_new(scenario: Scenario) -> None:
    assert scenario.rerun.run_id is None and scenario.rerun.rows_loaded == 0


def test_a_run_without_new_transactions_loads_the_new_labels(scenario: Scenario, wh: Warehouse) -> None:
    rerun, labelled = scenario.rerun, json.loads(scenario.batch1[0])["transaction_id"]
    assert (rerun.labels_loaded, rerun.labels_quarantined) == (1, 1)
    assert "labels: 1 loaded, 1 quarantined" in rerun.line()
    assert wh.query("SELECT source, is_fraud FROM fact_labels WHERE transaction_id = %s", (labelled,)) == [
        ("chargeback", True)
    ]
    assert (scenario.first.labels_loaded, scenario.second.labels_loaded) == (0, 0)


def test_second_batch_loads_only_new_rows(scenario: Scenario, wh: Warehouse) -> None:
    second = scenario.second
    assert (second.rows_read, second.rows_loaded, second.duplicates_dropped) == (212, 202, 10)
    assert _loaded(wh, scenario) == _ids(scenario.batch1) | _ids(scenario.batch2) | {
        "tx_rebank_new",
        "tx_rebank_old",
    }
    assert scenario.curated_rows == 502


def test_a_backfill_is_written_as_one_curated_file_per_day(scenario: Scenario) -> None:
    days = re.compile(rf"event_date=([\d-]+)/etl_run_id={scenario.second.run_id}/[^/]+\.parquet$")
    files = [m.group(1) for m in map(days.search, scenario.curated_keys) if m]
    # 200 hours from Nov 1, and the two re-banked card events
    assert sorted(files) == ["2026-10-01", *(f"2026-11-{day:02d}" for day in range(1, 10)), "2026-11-20"]


def test_corrupt_lines_are_quarantined_with_reasons(scenario: Scenario) -> None:
    s3 = client("s3", scenario.settings)
    prefix = f"quarantine/transactions/etl_run_id={scenario.first.run_id}/"
    records = []
    for obj in s3.list_objects_v2(Bucket=scenario.settings.bucket, Prefix=prefix)["Contents"]:
        body = s3.get_object(Bucket=scenario.settings.bucket, Key=obj["Key"])["Body"].read().decode()
        records += [json.loads(line) for line in body.splitlines() if line.strip()]
    reasons = {r["record"].encode(): r["reason"] for r in records}
    assert len(records) == 5
    for line, reason in CORRUPT.items():
        assert reasons[line].startswith(reason)
    assert any(r.startswith("currency:") for r in reasons.values())
    assert "city: blank after trimming" in reasons.values()
    assert all(r["source_object"].startswith("raw/2026/11/01/10/") for r in records)


def test_dimension_attributes_come_from_the_latest_event(scenario: Scenario, wh: Warehouse) -> None:
    card = json.loads(scenario.batch1[0])["card_id"]
    assert wh.query("SELECT issuing_bank FROM dim_card WHERE card_id = %s", (card,)) == [("Bank Renamed",)]


def test_every_fact_key_resolves_to_a_dimension(scenario: Scenario, wh: Warehouse) -> None:
    joins = {
        "dim_date": "date_key",
        "dim_time": "time_key",
        "dim_customer": "customer_id",
        "dim_card": "card_id",
        "dim_merchant": "merchant_id",
        "dim_device": "device_id",
        "dim_location": "location_key",
    }
    for dim, key in joins.items():
        missing = wh.query(
            f"SELECT count(*) FROM fact_transactions f LEFT JOIN {dim} d ON d.{key} = f.{key} "
            f"WHERE f.{key} IS NOT NULL AND d.{key} IS NULL"
        )
        assert missing == [(0,)], dim
    assert wh.query("SELECT count(*) FROM fact_transactions WHERE device_id IS NOT NULL")[0][0] > 0


def test_runs_are_recorded_as_the_bookmark(scenario: Scenario, wh: Warehouse) -> None:
    runs = wh.query(
        "SELECT status, rows_loaded FROM etl_runs WHERE run_id = ANY(%s) ORDER BY started_at",
        ([scenario.first.run_id, scenario.second.run_id],),
    )
    assert runs == [("succeeded", 300), ("succeeded", 202)]
    staged = client("s3", scenario.settings).list_objects_v2(
        Bucket=scenario.settings.bucket, Prefix="warehouse-staging/"
    )
    assert staged.get("KeyCount", 0) == 0


def test_each_run_rolls_up_the_days_it_loaded(wh: Warehouse) -> None:
    """The dashboard's daily rollups agree with the facts after both runs (the second a backfill)."""
    facts = dict(wh.query("SELECT date_key, COUNT(*) FROM fact_transactions GROUP BY 1"))
    rolled = dict(
        wh.query("SELECT date_key, CAST(SUM(transactions) AS BIGINT) FROM rollup_transactions GROUP BY 1")
    )
    assert rolled == facts
    assert {key for (key,) in wh.query("SELECT date_key FROM rollup_days")} == set(facts)
