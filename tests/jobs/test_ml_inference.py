"""End to end: simulated raw objects -> ETL job -> ML inference job -> ``fraud_predictions``.

One module-scoped scenario (Spark runs are expensive), in its own warehouse database and
buckets: batch 1 is loaded and scored, a rerun scores nothing, batch 2 (later days of the same
cards) is loaded and scored with batch 1 as history. The job's scores must equal scoring the
batch feature frame of all events in memory: the inference path computes the training
features. Last, a promotion and a rollback: the next runs score with whichever model the
registry's pointer names.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import psycopg2
import pyarrow as pa
import pytest
from pydantic import SecretStr

from fraudstack.aws import client
from fraudstack.features import compute_features
from fraudstack.jobs import etl
from fraudstack.jobs import inference as job
from fraudstack.model import FraudModel, registry
from fraudstack.model.data import simulated
from fraudstack.model.training import TrainConfig, train
from fraudstack.schema import event_to_json_bytes
from fraudstack.settings import Settings
from fraudstack.simulator import SimulationConfig, iter_tables
from fraudstack.simulator.assemble import table_to_events
from fraudstack.warehouse import connect, migrate
from tests.jobs.rawdata import put_objects
from tests.support.stack import RunningStack

pytestmark = pytest.mark.slow

SPLIT_DAY = pd.Timestamp("2025-01-05", tz="UTC")


@dataclass
class Scenario:
    settings: Settings
    model: FraudModel
    events: pd.DataFrame
    labels: pd.DataFrame
    first: Any
    rerun: Any
    second: Any
    predictions: pd.DataFrame
    job: ModuleType
    spark: Any


def _scratch_settings(stack: RunningStack, admin: Any) -> Settings:
    name = f"infer_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    dsn = urlsplit(stack.settings.warehouse_url())._replace(path=f"/{name}").geturl()
    tag = uuid.uuid4().hex[:8]
    return stack.settings.model_copy(
        update={
            "warehouse_dsn": SecretStr(dsn),
            "bucket": f"infer-lake-{tag}",
            "artifacts_bucket": f"infer-models-{tag}",
        }
    )


def _put_raw(settings: Settings, events: list[dict[str, Any]], hour: datetime) -> None:
    lines = [event_to_json_bytes(e) for e in events]
    put_objects(
        client("s3", settings), settings.bucket, hour, [lines[i : i + 500] for i in range(0, len(lines), 500)]
    )


def _analyst_verdicts(frame: pd.DataFrame) -> pd.DataFrame:
    """A verdict on every fraud two hours after it (and one genuine verdict), as ``fact_labels`` rows."""
    frauds = frame[frame["is_fraud"]]
    labels = pd.DataFrame(
        {
            "transaction_id": frauds["transaction_id"].to_numpy(),
            "source": "analyst",
            "is_fraud": True,
            "known_at": (frauds["event_time"] + pd.Timedelta(hours=2)).to_numpy(),
        }
    )
    genuine = frame[~frame["is_fraud"]].iloc[:1]
    return pd.concat(
        [
            labels,
            genuine[["transaction_id"]].assign(
                source="analyst", is_fraud=False, known_at=genuine["event_time"]
            ),
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def scenario(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    from fraudstack.spark import spark_session

    admin = psycopg2.connect(stack.settings.warehouse_url())
    admin.autocommit = True
    settings = _scratch_settings(stack, admin)
    s3 = client("s3", settings)
    s3.create_bucket(Bucket=settings.bucket)
    s3.create_bucket(Bucket=settings.artifacts_bucket)
    with connect(settings) as wh:
        migrate(wh)

    # A small model on other simulated cards, published as current.
    config = TrainConfig(warmup_days=1, val_days=3, test_days=3, max_rounds=60, early_stopping_rounds=15)
    result = train(simulated(customers=400, days=14, fraud_rate=0.03, seed=3), config)
    directory = tmp_path_factory.mktemp("model")
    registry.save_local(result.model, directory)
    registry.publish(settings, directory)
    registry.set_current(settings, result.model.version, "test")

    sim = SimulationConfig.create(customers=120, days=7, fraud_rate=0.03, seed=9)
    table = pa.concat_tables(list(iter_tables(sim)))
    events = table_to_events(table)
    frame = table.to_pandas()
    early = frame["event_time"] < SPLIT_DAY
    labels = _analyst_verdicts(frame)
    with connect(settings) as wh:
        wh.upsert(
            "fact_labels", list(labels.itertuples(index=False, name=None)), columns=list(labels.columns)
        )
    spark = spark_session("inference-test", settings)
    try:
        _put_raw(
            settings,
            [e for e, keep in zip(events, early, strict=True) if keep],
            datetime(2025, 1, 5, tzinfo=UTC),
        )
        etl.run(spark, settings)
        first = job.run(spark, settings)
        rerun = job.run(spark, settings)
        _put_raw(
            settings,
            [e for e, keep in zip(events, early, strict=True) if not keep],
            datetime(2025, 1, 8, tzinfo=UTC),
        )
        etl.run(spark, settings)
        second = job.run(spark, settings)
        with connect(settings) as wh:
            rows = wh.query(f"SELECT {', '.join(job.PREDICTION_COLUMNS)} FROM fraud_predictions")
        predictions = pd.DataFrame(rows, columns=list(job.PREDICTION_COLUMNS))
        yield Scenario(settings, result.model, frame, labels, first, rerun, second, predictions, job, spark)
    finally:
        spark.stop()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {urlsplit(settings.warehouse_url()).path[1:]} WITH (FORCE)")
        admin.close()


def test_every_transaction_scored_once_with_the_current_model(scenario: Scenario) -> None:
    predictions = scenario.predictions
    assert (
        scenario.first.scored
        == scenario.first.pending
        == int((scenario.events["event_time"] < SPLIT_DAY).sum())
    )
    assert scenario.first.scored + scenario.second.scored == len(scenario.events)
    assert predictions["transaction_id"].is_unique
    assert set(predictions["transaction_id"]) == set(scenario.events["transaction_id"])
    assert (predictions["model_version"] == scenario.model.version).all()


def test_rerun_writes_nothing(scenario: Scenario) -> None:
    assert scenario.rerun.pending == 0 and scenario.rerun.scored == 0
    assert "nothing new" in scenario.rerun.line()


def test_scores_equal_the_training_feature_path(scenario: Scenario) -> None:
    """Second-batch rows were scored from curated history only; they must match full-data features.

    The entity profiles included, each computed on its entity's history, with the verdicts
    ``fact_labels`` holds.
    """
    events = scenario.events
    features = compute_features(events, scenario.labels).set_axis(events["transaction_id"])
    assert features.filter(like="_frauds_30d").max().max() >= 1, "the verdicts count"
    expected = pd.Series(scenario.model.score(features), index=features.index)
    got = scenario.predictions.set_index("transaction_id")["score"]
    np.testing.assert_allclose(got.to_numpy(), expected.loc[got.index].to_numpy(), rtol=1e-6)


def test_reason_codes_for_every_flagged_row_only(scenario: Scenario) -> None:
    predictions = scenario.predictions
    flagged = predictions["decision"] != "approve"
    assert flagged.any() and (~flagged).any()
    assert predictions.loc[~flagged, "reason_codes"].isna().all()
    assert (predictions.loc[flagged, "score"] >= scenario.model.threshold).all()
    for codes in predictions.loc[flagged, "reason_codes"]:
        reasons = codes if isinstance(codes, list) else json.loads(codes)
        assert 1 <= len(reasons) <= 3
        assert all(set(r) == {"feature", "value", "contribution"} and r["contribution"] > 0 for r in reasons)
        assert all(r["feature"] in scenario.model.features for r in reasons)


def test_each_run_rolls_up_the_days_it_scored(scenario: Scenario) -> None:
    """The dashboard's prediction rollups agree with the predictions after both runs."""
    with connect(scenario.settings) as wh:
        scored = dict(
            wh.query(
                "SELECT f.date_key, COUNT(*) FROM fraud_predictions p "
                "JOIN fact_transactions f ON f.transaction_id = p.transaction_id GROUP BY 1"
            )
        )
        rolled = dict(
            wh.query("SELECT date_key, CAST(SUM(predictions) AS BIGINT) FROM rollup_predictions GROUP BY 1")
        )
    assert scored and rolled == scored


def test_rollback_restores_the_previous_model_for_the_next_run(scenario: Scenario, tmp_path: Path) -> None:
    settings, model, job = scenario.settings, scenario.model, scenario.job
    promoted = FraudModel(
        booster=model.booster[:3],
        features=model.features,
        threshold=model.threshold,
        version=f"{model.version}-promoted",
        manifest={**model.manifest, "version": f"{model.version}-promoted"},
    )
    registry.save_local(promoted, tmp_path)
    registry.publish(settings, tmp_path)
    registry.set_current(settings, promoted.version, "test: promoted")
    later = scenario.events.loc[scenario.events["event_time"] >= SPLIT_DAY, "transaction_id"]

    def rescore() -> pd.DataFrame:
        """Forget batch 2's predictions and run the job again: it scores them with the current model."""
        with connect(settings) as wh:
            wh.execute(
                "DELETE FROM fraud_predictions WHERE transaction_id IN "
                "(SELECT transaction_id FROM fact_transactions WHERE event_ts >= %s)",
                (SPLIT_DAY.to_pydatetime(),),
            )
        assert job.run(scenario.spark, settings).scored == len(later)
        with connect(settings) as wh:
            rows = wh.query("SELECT transaction_id, model_version, score FROM fraud_predictions")
        return pd.DataFrame(rows, columns=["transaction_id", "model_version", "score"]).set_index(
            "transaction_id"
        )

    with_promoted = rescore().loc[later]
    assert (with_promoted["model_version"] == promoted.version).all()
    registry.rollback(settings, "test: rolled back")
    rolled_back = rescore().loc[later]
    assert (rolled_back["model_version"] == model.version).all()
    first_run = scenario.predictions.set_index("transaction_id").loc[later, "score"]
    np.testing.assert_allclose(rolled_back["score"].to_numpy(), first_run.to_numpy(), rtol=1e-12)
