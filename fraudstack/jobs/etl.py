"""Glue ETL job: raw Firehose objects in S3 -> curated Parquet + the warehouse star schema.

Runs unchanged on Glue 5.0 (Spark 3.5, Python 3.11; ship ``fraudstack`` with
``--extra-py-files`` and ``psycopg2-binary`` with ``--additional-python-modules``), through
the local Glue runner, and in-process from ``fraudstack etl`` (which calls :func:`run`).

One run:

1. **Bookmark.** Claims the raw objects no earlier run loaded (``etl_objects`` in the
   warehouse) as a batch under a new run id. A run that died half-way is resumed with the
   same id and objects, and every output below is overwritten per run id, so a retry never
   duplicates anything; a run with nothing new exits early.
2. **Validate.** Every line goes through :func:`fraudstack.wire.screen` inside Spark
   (an Arrow UDF on the executors): the schema's exact rules and one-line reasons
   (:func:`fraudstack.schema.validate_event`, after a fast path for the producers' canonical
   form), the ones the producer, the bridge and the scorer use - one source of truth rather
   than a re-implementation that could drift. Valid lines are then parsed natively with the Spark form of
   :func:`fraudstack.schema.arrow_schema`.
3. **Clean.** Trims free-text fields (a field that is blank once trimmed is rejected);
   timestamps are UTC (the schema requires it and the session time zone is UTC).
4. **Deduplicate** on ``transaction_id``: against the warehouse rows of the batch's
   event-time range, within the batch (shuffling only the rows whose id repeats), and finally
   by the load itself (``ON CONFLICT DO NOTHING``).
5. **Write** curated Parquet to ``s3://<bucket>/curated/transactions/event_date=/etl_run_id=/``
   and rejected lines with their reason to ``s3://<bucket>/quarantine/transactions/``.
6. **Load** dimensions (type-1 upsert, latest event wins) and facts through CSV files that
   Spark writes to the staging prefix and ``COPY`` reads, in ONE warehouse transaction that
   also recomputes the dashboard's daily rollups of the days the batch touched
   (:mod:`fraudstack.warehouse.rollups`) and marks the run succeeded with its counts. The
   fact load runs while Spark derives the dimensions and writes the curated Parquet
   (different processes, and on AWS different machines); the facts' references to the
   dimensions are checked before the commit.

Before all that, the label events the bridge wrote under ``labels/`` are loaded into
``fact_labels`` (:func:`load_labels`), whether or not new transactions arrived.

Card numbers never appear: events carry only ``card_token``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fraudstack.aws import client
from fraudstack.gluejob import glue_job
from fraudstack.labels import validate_label
from fraudstack.schema import arrow_schema
from fraudstack.settings import Settings
from fraudstack.warehouse import (
    SPARK_CSV_OPTIONS,
    CsvParts,
    Dialect,
    LoadResult,
    Staged,
    Warehouse,
    connect,
    migrate,
    rollups,
    table,
)
from fraudstack.wire import screen

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

CURATED_PREFIX = "curated/transactions/"
QUARANTINE_PREFIX = "quarantine/transactions/"
LABELS_QUARANTINE_PREFIX = "quarantine/labels/"
#: The fact_labels columns a label event fills (``loaded_at`` is the warehouse's own).
LABEL_COLUMNS = ("transaction_id", "source", "is_fraud", "known_at")

#: Free-text fields trimmed by the cleaning step (ids and codes are pattern-checked already).
TRIMMED = ("issuing_bank", "merchant_name", "merchant_category", "city")

#: Dimension table -> (natural key, attributes taken from the latest event with that key).
DIMENSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "dim_customer": ("customer_id", ("customer_account_created",)),
    "dim_card": ("card_id", ("card_token", "card_type", "issuing_bank", "customer_id")),
    "dim_merchant": (
        "merchant_id",
        ("merchant_name", "merchant_category_code", "merchant_category", "merchant_lat", "merchant_lon"),
    ),
    "dim_device": ("device_id", ("device_os",)),
    "dim_location": ("location_key", ("city", "country")),
}
#: Dimensions in foreign-key order (referenced tables first).
DIMENSION_LOAD_ORDER = (
    "dim_date",
    "dim_time",
    "dim_customer",
    "dim_card",
    "dim_merchant",
    "dim_device",
    "dim_location",
)
#: A batch spanning at least this many days of event time is a backfill (see curated_layout).
BACKFILL_DAYS = 7
#: Event field -> warehouse column, where the names differ.
RENAMES = {"customer_account_created": "account_created", "event_time": "event_ts"}


@dataclass
class EtlSummary:
    """What one run did; ``rows_read == rows_loaded + duplicates_dropped + rows_quarantined``."""

    run_id: str | None
    objects_read: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    duplicates_dropped: int = 0
    rows_quarantined: int = 0
    labels_loaded: int = 0
    labels_quarantined: int = 0
    elapsed_s: float = 0.0
    #: Seconds per step: where a slow run spends its time (the warehouse's steps overlap
    #: Spark's, so the steps may add up to more than ``elapsed_s``).
    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one step of the run into :attr:`stages`."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.monotonic() - started

    def stage_line(self) -> str:
        return "stages: " + ", ".join(f"{name} {secs:.1f}s" for name, secs in self.stages.items())

    def line(self) -> str:
        labels = (
            f"; labels: {self.labels_loaded} loaded, {self.labels_quarantined} quarantined"
            if self.labels_loaded or self.labels_quarantined
            else ""
        )
        if self.run_id is None:
            return f"etl: no new raw objects ({self.elapsed_s:.1f}s){labels}"
        rate = self.rows_read / self.elapsed_s if self.elapsed_s else 0.0
        return (
            f"etl {self.run_id}: {self.objects_read} objects, {self.rows_read} rows read, "
            f"{self.rows_loaded} loaded, {self.duplicates_dropped} duplicates dropped, "
            f"{self.rows_quarantined} quarantined in {self.elapsed_s:.1f}s ({rate:,.0f} rows/s){labels}"
        )


@dataclass(frozen=True)
class Batch:
    """The raw objects (``s3://`` URIs) one run owns."""

    run_id: str
    uris: list[str]


def claim_batch(wh: Warehouse, settings: Settings) -> Batch | None:
    """Resume the unfinished run, else register the raw objects no run has claimed yet.

    Objects are recorded as ``s3://bucket/key`` so two buckets never share a bookmark.
    """
    running = wh.query(
        "SELECT run_id FROM etl_runs WHERE status = %s ORDER BY started_at LIMIT 1", ("running",)
    )
    if running:
        run_id = str(running[0][0])
        uris = wh.query("SELECT object_uri FROM etl_objects WHERE run_id = %s ORDER BY object_uri", (run_id,))
        return Batch(run_id, [str(u) for (u,) in uris])
    root = f"s3://{settings.bucket}/"
    claimed = {str(k) for (k,) in wh.query("SELECT object_uri FROM etl_objects")}
    s3 = client("s3", settings)
    new: list[tuple[str, int]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=settings.bucket, Prefix=settings.raw_prefix
    ):
        new.extend(
            (root + o["Key"], o["Size"]) for o in page.get("Contents", []) if root + o["Key"] not in claimed
        )
    if not new:
        return None
    run_id = f"etl-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    wh.execute("INSERT INTO etl_runs (run_id, status) VALUES (%s, %s)", (run_id, "running"))
    wh.upsert("etl_objects", [(uri, run_id, size) for uri, size in new], update=False)
    wh.commit()
    return Batch(run_id, sorted(uri for uri, _ in new))


@dataclass(frozen=True)
class LabelLoad:
    """What :func:`load_labels` did: ``read == loaded + duplicates + quarantined``."""

    objects: int = 0
    read: int = 0
    loaded: int = 0
    quarantined: int = 0


def load_labels(wh: Warehouse, settings: Settings) -> LabelLoad:
    """Load the label objects no run has loaded into ``fact_labels``; one warehouse transaction.

    Why in the driver, without Spark: labels are about one per fraud (a few thousand a day
    where transactions are millions), so reading them with S3 calls costs less than a Spark
    job's start. Why one transaction: the objects are bookmarked in ``etl_objects`` (under a
    ``labels-`` run of their own, recorded as succeeded) in the same commit as their rows, so
    a run that dies leaves nothing behind and the next one loads them from the start; the key
    ``(transaction_id, source)`` makes a redelivered label (a replayed bridge batch) change
    nothing. Each line is checked by :func:`fraudstack.labels.validate_label`; a rejected
    line goes to ``quarantine/labels/`` with its reason, one object per source object (so a
    rerun rewrites it rather than adding another).
    """
    root = f"s3://{settings.bucket}/"
    claimed = {
        str(uri)
        for (uri,) in wh.query(
            "SELECT object_uri FROM etl_objects WHERE object_uri LIKE %s",
            (f"{root}{settings.labels_prefix}%",),
        )
    }
    s3 = client("s3", settings)
    new: list[tuple[str, int]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=settings.bucket, Prefix=settings.labels_prefix
    ):
        new.extend((o["Key"], o["Size"]) for o in page.get("Contents", []) if root + o["Key"] not in claimed)
    if not new:
        wh.commit()
        return LabelLoad()
    labels: dict[tuple[str, str], tuple[Any, ...]] = {}
    read = quarantined = 0
    for key, _size in new:
        rejected: list[str] = []
        for line in s3.get_object(Bucket=settings.bucket, Key=key)["Body"].read().splitlines():
            if not line.strip():
                continue
            read += 1
            result = validate_label(line)
            if result.label is None:
                record = line.decode("utf-8", errors="replace")
                rejected.append(json.dumps({"reason": result.reason, "source_object": key, "record": record}))
                continue
            label = result.label
            earlier = labels.get((label.transaction_id, label.source))
            if earlier is None or label.known_at < earlier[3]:
                labels[label.transaction_id, label.source] = (
                    label.transaction_id,
                    label.source,
                    label.is_fraud,
                    label.known_at,
                )
        if rejected:
            quarantined += len(rejected)
            s3.put_object(
                Bucket=settings.bucket,
                Key=LABELS_QUARANTINE_PREFIX + key.removeprefix(settings.labels_prefix),
                Body="\n".join(rejected).encode() + b"\n",
            )
    loaded = (
        wh.upsert("fact_labels", list(labels.values()), columns=LABEL_COLUMNS, update=False).written
        if labels
        else 0
    )
    run_id = f"labels-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    wh.execute(
        "INSERT INTO etl_runs (run_id, status, finished_at, objects_read, rows_read, rows_loaded, "
        "duplicates_dropped, rows_quarantined) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            run_id,
            "succeeded",
            datetime.now(UTC),
            len(new),
            read,
            loaded,
            read - quarantined - loaded,
            quarantined,
        ),
    )
    wh.upsert("etl_objects", [(root + key, run_id, size) for key, size in new], update=False)
    wh.commit()
    return LabelLoad(objects=len(new), read=read, loaded=loaded, quarantined=quarantined)


def validated(spark: SparkSession, uris: list[str]) -> DataFrame:
    """Non-blank raw lines with ``reason`` (NULL when valid) and the parsed, cleaned fields."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    @F.pandas_udf("reason string, canonical string")  # type: ignore[call-overload]
    def screened(values: pd.Series) -> pd.DataFrame:
        # Runs on the executors. Lines arrive as bytes (a line need not be UTF-8); only the
        # verdicts travel back to the JVM, plus the canonical text of the rare valid line
        # written in another spelling (see fraudstack.wire.screen).
        verdicts = [screen(line) for line in values]
        return pd.DataFrame(verdicts, columns=["reason", "canonical"], dtype=object)

    lines = (
        spark.read.text(uris)
        .select(
            F.col("value"),
            F.regexp_replace(F.input_file_name(), r"^s3a?://[^/]+/", "").alias("source_object"),
        )
        .where(F.trim("value") != "")
    )
    checked = lines.withColumn("verdict", screened(F.col("value").cast("binary"))).select(
        "value", "source_object", F.col("verdict.reason").alias("reason"), F.col("verdict.canonical")
    )
    event_type = from_arrow_schema(arrow_schema())
    # Parse into ONE struct column and take the fields apart in a second projection: selecting
    # each field of the from_json call directly makes Spark parse every line once per field
    # (from_json has no code generation, hence no common-subexpression elimination, and the
    # optimizer rewrites each field access into its own single-field parse).
    text = F.coalesce(F.col("canonical"), F.col("value"))
    event = F.when(F.col("reason").isNull(), F.from_json(text, event_type)).alias("event")
    fields: list[Column] = [
        (F.trim(f"event.{name}") if name in TRIMMED else F.col(f"event.{name}")).alias(name)
        for name in event_type.fieldNames()
    ]
    parsed = checked.select("value", "source_object", "reason", event).select(
        "value", "source_object", "reason", *fields
    )
    blank = [F.when(F.col(n) == "", F.lit(f"{n}: blank after trimming")) for n in TRIMMED]
    reason = F.coalesce(F.col("reason"), *blank)
    # Keep the raw line only where it is needed (quarantine): the cache stays small.
    return parsed.withColumn("reason", reason).withColumn("value", F.when(reason.isNotNull(), F.col("value")))


def with_keys(events: DataFrame, run_id: str) -> DataFrame:
    """Add the derived dimension keys the warehouse and the curated layer share."""
    from pyspark.sql import functions as F

    ts = F.col("event_time")
    return events.select(
        "*",
        (F.year(ts) * 10000 + F.month(ts) * 100 + F.dayofmonth(ts)).alias("date_key"),
        (F.hour(ts) * 100 + F.minute(ts)).cast("smallint").alias("time_key"),
        F.concat_ws(":", "country", "city").alias("location_key"),
        F.to_date(ts).alias("event_date"),
        F.lit(run_id).alias("etl_run_id"),
    )


def dimension_rows(events: DataFrame) -> dict[str, list[tuple[Any, ...]]]:
    """Each dimension's rows (warehouse column order), one per key, latest event winning.

    One small aggregation per dimension over the cached events (with :func:`with_keys`):
    each reads only its own columns, and partial aggregation shrinks it to one row per key
    before the shuffle. Date and time attributes follow from their keys and are filled in here.
    """
    from pyspark.sql import functions as F

    def latest(key: str, attrs: tuple[str, ...]) -> list[tuple[Any, ...]]:
        found = (
            events.where(F.col(key).isNotNull())
            .groupBy(key)
            .agg(F.max_by(F.struct(*attrs), "event_time").alias("latest"))
        )
        return [(row[key], *row["latest"]) for row in found.collect()]

    def keys(key: str, row: Callable[[int], tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [row(found[0]) for found in events.select(key).distinct().collect()]

    # Submitted together, the small jobs keep both cores busy through each other's
    # scheduling and shuffle gaps.
    with ThreadPoolExecutor(max_workers=len(DIMENSIONS) + 2) as pool:
        futures = {name: pool.submit(latest, key, attrs) for name, (key, attrs) in DIMENSIONS.items()}
        futures["dim_date"] = pool.submit(keys, "date_key", date_row)
        futures["dim_time"] = pool.submit(keys, "time_key", time_row)
        return {name: future.result() for name, future in futures.items()}


def date_row(date_key: int) -> tuple[Any, ...]:
    """A ``dim_date`` row from its ``YYYYMMDD`` key."""
    day = date(date_key // 10000, date_key // 100 % 100, date_key % 100)
    weekday = day.isoweekday()
    return (date_key, day, day.year, (day.month - 1) // 3 + 1, day.month, day.day, weekday, weekday >= 6)


def time_row(time_key: int) -> tuple[Any, ...]:
    """A ``dim_time`` row from its ``HHMM`` key."""
    hour, minute = divmod(time_key, 100)
    part = "night" if hour < 6 else "morning" if hour < 12 else "afternoon" if hour < 18 else "evening"
    return (time_key, hour, minute, part)


def fact_frame(facts: DataFrame) -> tuple[list[str], DataFrame]:
    """The fact rows and the warehouse columns they fill (labels included, as labels)."""
    from pyspark.sql import functions as F

    columns = [
        c
        for c in table("fact_transactions").column_names
        if c not in {"analyst_label", "analyst_labeled_at", "loaded_at"}
    ]
    source = {RENAMES.get(name, name): F.col(name) for name in facts.columns}
    return columns, facts.select(*[source[c].alias(c) for c in columns])


@contextmanager
def one_per_transaction(events: DataFrame) -> Iterator[DataFrame]:
    """``events`` with one row per ``transaction_id`` (which copy survives is arbitrary).

    ``dropDuplicates`` would shuffle every full row to find the few ids that repeat
    (at-least-once delivery redelivers a small fraction). Instead only the ids are
    aggregated, and the repeated ones (few: even a million ids is ~20 MB) and their
    deduplicated rows are cached. The result is then a narrow view of ``events`` (a broadcast
    anti-join) plus that small cache: each later job re-reads ``events``' cache instead of
    the run building a second copy of every row. The small caches are freed on exit.
    """
    from pyspark.sql import functions as F

    repeated = (
        events.groupBy("transaction_id").count().where(F.col("count") > 1).select("transaction_id").cache()
    )
    deduplicated = (
        events.join(F.broadcast(repeated), "transaction_id", "left_semi")
        .dropDuplicates(["transaction_id"])
        .cache()
    )
    try:
        yield events.join(F.broadcast(repeated), "transaction_id", "left_anti").unionByName(deduplicated)
    finally:
        deduplicated.unpersist()
        repeated.unpersist()


def curated_layout(facts: DataFrame, first: datetime | None, last: datetime | None) -> DataFrame:
    """``facts`` partitioned for the curated write, which writes one file per day per partition.

    On S3 every file costs the committer several round trips (its "renames" are copies), so
    a batch spanning many days (a backfill) is shuffled into one partition per day, and a
    daily batch is coalesced (no shuffle) to one partition per core: few files, all cores
    writing.
    """
    if first is not None and last is not None and (last.date() - first.date()).days >= BACKFILL_DAYS:
        return facts.repartition("event_date")
    return facts.coalesce(facts.sparkSession.sparkContext.defaultParallelism)


def _existing_ids(spark: SparkSession, wh: Warehouse, first: Any, last: Any) -> DataFrame | None:
    """Transaction ids already loaded in the batch's event-time range (redeliveries are close)."""
    rows = wh.query(
        "SELECT transaction_id FROM fact_transactions WHERE event_ts BETWEEN %s AND %s", (first, last)
    )
    wh.commit()  # hold no snapshot open while Spark works
    return spark.createDataFrame(rows, "transaction_id string") if rows else None


@contextmanager
def staging_area(spark: SparkSession, wh: Warehouse, run_id: str) -> Iterator[str]:
    """Where Spark writes the CSV files ``COPY`` loads; removed afterwards.

    Redshift copies from S3, and on a cluster only S3 is shared by the executors and the
    driver, so that is the default. A local-mode Spark loading PostgreSQL shares the driver's
    disk, and a local folder spares the S3 round trip (the driver streams the files to COPY).
    """
    if (spark.sparkContext.master or "").startswith("local") and wh.dialect is Dialect.POSTGRES:
        folder = Path(tempfile.mkdtemp(prefix=f"fraudstack-{run_id}-"))
        try:
            yield folder.as_uri() + "/"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    settings = wh.settings
    prefix = f"{settings.warehouse_staging_prefix}{run_id}/"
    try:
        yield f"s3://{settings.bucket}/{prefix}"
    finally:
        s3 = client("s3", settings)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket, Prefix=prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=settings.bucket, Delete={"Objects": keys, "Quiet": True})


def run(spark: SparkSession, settings: Settings) -> EtlSummary:
    """One incremental ETL run; see the module docstring."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    started = time.monotonic()
    bucket = f"s3://{settings.bucket}/"
    with connect(settings) as wh:
        migrate(wh)
        labels = load_labels(wh, settings)
        batch = claim_batch(wh, settings)
        if batch is None:
            return EtlSummary(
                run_id=None,
                labels_loaded=labels.loaded,
                labels_quarantined=labels.quarantined,
                elapsed_s=time.monotonic() - started,
            )
        summary = EtlSummary(
            run_id=batch.run_id,
            objects_read=len(batch.uris),
            labels_loaded=labels.loaded,
            labels_quarantined=labels.quarantined,
        )
        rows = validated(spark, batch.uris).persist(StorageLevel.MEMORY_AND_DISK)
        valid_only = F.col("reason").isNull()
        with summary.stage("read+validate"):
            stats = rows.agg(
                F.count(F.lit(1)).alias("read"),
                F.count("reason").alias("quarantined"),
                F.min(F.when(valid_only, F.col("event_time"))).alias("first"),
                F.max(F.when(valid_only, F.col("event_time"))).alias("last"),
            ).first()
        assert stats is not None  # an aggregate always returns one row
        summary.rows_read, summary.rows_quarantined = int(stats["read"]), int(stats["quarantined"])

        if summary.rows_quarantined:
            with summary.stage("quarantine"):
                rows.where(~valid_only).select(
                    "reason",
                    "source_object",
                    F.col("value").alias("record"),
                    F.lit(batch.run_id).alias("etl_run_id"),
                ).write.mode("overwrite").json(f"{bucket}{QUARANTINE_PREFIX}etl_run_id={batch.run_id}/")

        valid = rows.where(valid_only).drop("value", "reason")
        with summary.stage("loaded-ids"):
            loaded = _existing_ids(spark, wh, stats["first"], stats["last"]) if stats["first"] else None
        if loaded is not None:
            valid = valid.join(F.broadcast(loaded), "transaction_id", "left_anti")
        # The warehouse loads the facts (copy into a staging table, insert) while Spark derives
        # the dimensions and writes the curated copy; the dimensions are loaded afterwards and
        # the facts' references checked against them before the commit. One connection, one
        # thread on it at a time, one transaction, so the warehouse never sees half a run.
        # Leaving the block waits for the warehouse even if Spark fails, so the connection's
        # rollback never races it.
        with (
            one_per_transaction(valid) as unique,
            staging_area(spark, wh, batch.run_id) as staging,
            ThreadPoolExecutor(max_workers=1) as warehouse,
        ):
            facts = with_keys(unique, batch.run_id)
            fact_columns, fact_rows = fact_frame(facts)
            with summary.stage("dedupe+staging-csv"):  # the first job on the facts deduplicates
                fact_rows.write.mode("overwrite").options(**SPARK_CSV_OPTIONS).csv(staging)

            def load_facts() -> tuple[Staged, LoadResult]:
                with summary.stage("fact-load"):
                    staged = wh.stage("fact_transactions", CsvParts(staging), columns=fact_columns)
                    return staged, wh.merge(staged, update=False)

            loading = warehouse.submit(load_facts)
            with summary.stage("dimensions"):
                # Duplicates are copies of one event: they cannot change a latest-event
                # attribute, so the dimensions skip the deduplicating join.
                dimensions = dimension_rows(with_keys(valid, batch.run_id))
            with summary.stage("curated"):
                (
                    curated_layout(facts, stats["first"], stats["last"])
                    .write.mode("overwrite")
                    .option("partitionOverwriteMode", "dynamic")
                    .partitionBy("event_date", "etl_run_id")
                    .parquet(bucket + CURATED_PREFIX)
                )
            staged, result = loading.result()
        rows.unpersist()
        with summary.stage("dimension-load"):
            for name in DIMENSION_LOAD_ORDER:
                wh.upsert(name, dimensions[name])
            wh.check_references(staged)
        with summary.stage("rollups"):
            touched = wh.query(f"SELECT DISTINCT date_key FROM {staged.staging}")
            rollups.refresh(wh, [int(key) for (key,) in touched], rollups.FACTS)
        wh.discard(staged)
        summary.rows_loaded = result.written
        summary.duplicates_dropped = summary.rows_read - summary.rows_quarantined - result.written
        summary.elapsed_s = time.monotonic() - started
        wh.execute(
            "UPDATE etl_runs SET status = %s, finished_at = %s, objects_read = %s, rows_read = %s, "
            "rows_loaded = %s, duplicates_dropped = %s, rows_quarantined = %s WHERE run_id = %s",
            (
                "succeeded",
                datetime.now(UTC),
                summary.objects_read,
                summary.rows_read,
                summary.rows_loaded,
                summary.duplicates_dropped,
                summary.rows_quarantined,
                batch.run_id,
            ),
        )
    summary.elapsed_s = time.monotonic() - started
    return summary


def main() -> None:
    """Glue entry point: ``--JOB_NAME`` (and Glue's own arguments); the rest is settings."""
    with glue_job(["JOB_NAME"]) as job:
        summary = run(job.spark, job.settings)
        print(summary.line(), summary.stage_line(), sep="\n", flush=True)
