"""Glue ML inference job: score every transaction not yet scored, with reason codes.

Runs unchanged on Glue 5.0 (Spark 3.5, Python 3.11; ship ``fraudstack`` with
``--extra-py-files`` and ``xgboost-cpu``, ``scikit-learn``, ``psycopg2-binary`` with
``--additional-python-modules``), through the local Glue runner, and in-process from tests
and the benchmark (which call :func:`run`).

One run:

1. **What is new.** Transactions in ``fact_transactions`` with no row in
   ``fraud_predictions`` - i.e. loaded since the last run, plus anything a failed run left.
   A rerun therefore finds nothing and writes nothing; no bookmark can drift from the data.
2. **History.** Features need each card's past, and by definition nothing older than
   :data:`fraudstack.features.definitions.LOOKBACK` (30 days). The job reads the curated
   Parquet the ETL job wrote (``curated/transactions/event_date=...``), pruned to the
   partitions from 30 days before the oldest new transaction, and only the cards with
   something new. The merchant, device, IP and customer profiles the model uses need each
   such entity's past too (every card's transactions there), and the fraud labels known
   from ``fact_labels`` (the earliest ``known_at`` of each fraud verdict of those 30 days).
3. **Features and scores** in Spark: per entity the model profiles, its entities with
   something new are hashed into buckets and each bucket computes that entity's features of
   the new rows (:func:`fraudstack.model.inference.entity_rows`); then cards are hashed into
   buckets, the new rows carrying their entity features, and each bucket goes through the
   *same* :func:`fraudstack.features.compute_features` as training (one pandas call per
   bucket, vectorised), then the current registry model scores the new rows and explains
   only the flagged ones (TreeSHAP reason codes).
4. **Write** ``fraud_predictions`` (transaction, model version, score, decision, scored_at,
   reason codes) with an upsert on (transaction_id, model_version): idempotent; in the same
   transaction, recompute the dashboard's prediction rollups of the days scored
   (:mod:`fraudstack.warehouse.rollups`).

Decisions follow the streaming scorer's rule: ``review`` from the model's threshold (or
``FRAUDSTACK_SCORER_REVIEW_THRESHOLD``), ``decline`` from ``FRAUDSTACK_SCORER_DECLINE_THRESHOLD``,
else ``approve``.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, cast

import pandas as pd

from fraudstack.features.definitions import ENTITIES, ENTITY_FEATURES, INPUT_COLUMNS, KEY, LOOKBACK
from fraudstack.gluejob import glue_job
from fraudstack.model.decision_rule import Thresholds
from fraudstack.model.fraud_model import FraudModel
from fraudstack.model.inference import FRAUD_KNOWN_AT, TARGET
from fraudstack.model.registry import load_current_model, model_to_bytes
from fraudstack.settings import Settings
from fraudstack.warehouse import connect, rollups

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

CURATED_PREFIX = "curated/transactions/"
TOP_K = 3
#: Rows of new transactions per Spark bucket (each bucket is one vectorised pandas call).
ROWS_PER_BUCKET = 200_000
PREDICTION_COLUMNS = ("transaction_id", "model_version", "score", "decision", "scored_at", "reason_codes")
_BUCKET_SCHEMA = "transaction_id string, score double, decision string, reason_codes string"

#: The fraud verdicts a new row's profiles may count: of transactions at most LOOKBACK older.
#: (A verdict comes after its transaction, so one known before ``since`` counts for none.)
_KNOWN_FRAUDS = """
SELECT transaction_id, MIN(known_at) FROM fact_labels
WHERE is_fraud AND known_at >= %s GROUP BY transaction_id
"""

_PENDING = """
SELECT f.transaction_id, f.event_ts FROM fact_transactions AS f
WHERE NOT EXISTS (SELECT 1 FROM fraud_predictions AS p WHERE p.transaction_id = f.transaction_id)
"""


@dataclass
class InferenceSummary:
    """What one run did."""

    model_version: str
    pending: int = 0
    scored: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def missing_history(self) -> int:
        """New warehouse rows absent from the curated layer (retried by the next run)."""
        return self.pending - self.scored

    def line(self) -> str:
        if not self.pending:
            return f"inference: nothing new to score ({self.elapsed_s:.1f}s)"
        rate = self.scored / self.elapsed_s if self.elapsed_s else 0.0
        split = ", ".join(f"{count} {name}" for name, count in sorted(self.decisions.items()))
        missing = (
            f", {self.missing_history} without curated rows (retried next run)"
            if self.missing_history
            else ""
        )
        return (
            f"inference with model {self.model_version}: {self.scored} of {self.pending} new transactions "
            f"scored ({split}){missing} in {self.elapsed_s:.1f}s ({rate:,.0f} rows/s)"
        )


def recent(spark: SparkSession, curated_uri: str, oldest: datetime) -> DataFrame:
    """Curated events from ``LOOKBACK`` before ``oldest`` on: all any new row's features can see."""
    from pyspark.sql import functions as F

    since = (oldest - timedelta(microseconds=LOOKBACK)).date()
    return (
        spark.read.parquet(curated_uri)
        .where(F.col("event_date") >= F.lit(since))
        .select("transaction_id", *INPUT_COLUMNS)
        .dropDuplicates(["transaction_id"])
    )


def history(curated: DataFrame, pending: DataFrame, key: str) -> DataFrame:
    """``curated`` events of the ``key`` values (cards, merchants, ...) that something new has;
    the new ones ``target``."""
    from pyspark.sql import functions as F

    keys = curated.join(pending, "transaction_id").select(key).where(F.col(key).isNotNull()).distinct()
    return curated.join(keys, key, "left_semi").join(
        pending.select("transaction_id", F.lit(True).alias(TARGET)), "transaction_id", "left"
    )


def score_pending(
    spark: SparkSession,
    curated_uri: str,
    model: FraudModel,
    pending_rows: list[tuple[str, datetime]],
    thresholds: Thresholds,
    labels: list[tuple[str, datetime]],
    top_k: int = TOP_K,
) -> pd.DataFrame:
    """The Spark stage: (transaction_id, event time) pairs and the fraud labels known
    (transaction_id, earliest known_at) in, scored rows out (no warehouse access).

    Entities, then cards, are hashed into buckets of about :data:`ROWS_PER_BUCKET` new rows;
    each bucket is one vectorised pandas call on an executor.
    """
    from pyspark.sql import functions as F

    model_bytes, manifest = model_to_bytes(model), model.manifest

    def score_bucket(frame: pd.DataFrame) -> pd.DataFrame:
        """Executor side: features over one bucket of cards' history, scores of its new rows."""
        from fraudstack.model.inference import score_new_rows
        from fraudstack.model.registry import model_from_bytes

        return score_new_rows(
            frame.drop(columns=["bucket"]), model_from_bytes(model_bytes, manifest), thresholds, top_k
        )

    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    pending = spark.createDataFrame([(tx,) for tx, _ in pending_rows], "transaction_id string")
    oldest = min(ts for _, ts in pending_rows)
    buckets = max(spark.sparkContext.defaultParallelism, math.ceil(len(pending_rows) / ROWS_PER_BUCKET))
    curated = recent(spark, curated_uri, oldest)
    events = history(curated, pending, KEY)
    known = spark.createDataFrame(labels, f"transaction_id string, {FRAUD_KNOWN_AT} timestamp")
    for entity, column in ENTITIES.items():
        names = [f.name for f in ENTITY_FEATURES[entity]]
        if set(names).isdisjoint(model.features):
            continue
        profiled = (
            history(curated.join(known, "transaction_id", "left"), pending, column)
            .withColumn("bucket", F.pmod(F.hash(column), F.lit(buckets)))
            .groupBy("bucket")
            .applyInPandas(
                _entity_bucket(entity), ", ".join(["transaction_id string", *(f"{n} double" for n in names)])
            )
        )
        events = events.join(profiled, "transaction_id", "left")
    events = events.withColumn("bucket", F.pmod(F.hash(KEY), F.lit(buckets)))
    return cast(pd.DataFrame, events.groupBy("bucket").applyInPandas(score_bucket, _BUCKET_SCHEMA).toPandas())


def _entity_bucket(entity: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Executor side: one entity's profile features of the new rows in one bucket of its history."""

    def run(frame: pd.DataFrame) -> pd.DataFrame:
        from fraudstack.model.inference import entity_rows

        return entity_rows(frame.drop(columns=["bucket"]), entity)

    return run


def run(spark: SparkSession, settings: Settings, top_k: int = TOP_K) -> InferenceSummary:
    """Score what is new; returns what was done (see the module docstring)."""
    started = time.monotonic()
    model = load_current_model(settings)
    summary = InferenceSummary(model_version=model.version)
    with connect(settings) as wh:
        pending_rows = wh.query(_PENDING)
    summary.pending = len(pending_rows)
    if not pending_rows:
        summary.elapsed_s = time.monotonic() - started
        return summary

    thresholds = Thresholds.from_settings(settings, model.threshold)
    curated_uri = f"s3://{settings.bucket}/{CURATED_PREFIX}"
    since = min(ts for _, ts in pending_rows) - timedelta(microseconds=LOOKBACK)
    with connect(settings) as wh:
        labels = wh.query(_KNOWN_FRAUDS, [since])
    scored = score_pending(spark, curated_uri, model, pending_rows, thresholds, labels, top_k)
    scored_at = datetime.now(UTC)
    rows = [
        (tx, model.version, float(score), decision, scored_at, reasons)
        for tx, score, decision, reasons in zip(
            scored["transaction_id"], scored["score"], scored["decision"], scored["reason_codes"], strict=True
        )
    ]
    scored_ids = set(scored["transaction_id"])
    touched = {rollups.date_key(ts) for tx, ts in pending_rows if tx in scored_ids}
    with connect(settings) as wh:
        wh.upsert("fraud_predictions", rows, columns=PREDICTION_COLUMNS, update=True)
        rollups.refresh(wh, touched, rollups.PREDICTIONS)
    summary.scored = len(rows)
    summary.decisions = dict(Counter(scored["decision"]))
    summary.elapsed_s = time.monotonic() - started
    return summary


def main() -> None:
    """Glue entry point: ``--JOB_NAME`` (and Glue's own arguments); the rest is settings."""
    with glue_job(["JOB_NAME"]) as job:
        print(run(job.spark, job.settings).line(), flush=True)
