"""The drift job end to end: warehouse facts -> features -> PSI -> CloudWatch and ``model_drift``.

A small model is current in a registry bucket of its own; other simulated cards are loaded
into a scratch warehouse the way the ETL loads them (dimensions, then facts). ``fraudstack
drift`` on one day must give the PSI that the in-memory batch features of all events give
(the job reads each card's history back from the star schema), publish it and store it; an
injected amount shift must read as broken on ``amount`` and a rerun must replace the rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from fraudstack.aws import client
from fraudstack.features import compute_features
from fraudstack.model import registry
from fraudstack.model.data import simulated
from fraudstack.model.drift import measure
from fraudstack.model.fraud_model import FraudModel
from fraudstack.model.inference import NO_LABELS
from fraudstack.model.training import TrainConfig, train
from fraudstack.provisioning.declaration import declare
from fraudstack.settings import Settings
from fraudstack.simulator import SimulationConfig, iter_tables
from fraudstack.warehouse import connect
from tests.support import wait_until
from tests.support.stack import RunningStack
from tests.support.star import load_events
from tests.support.warehouse import scratch_database

WINDOW = (datetime(2025, 1, 5, tzinfo=UTC), datetime(2025, 1, 6, tzinfo=UTC))


@dataclass
class Loaded:
    settings: Settings
    model: FraudModel
    frame: pd.DataFrame


@pytest.fixture(scope="module")
def loaded(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    tag = uuid.uuid4().hex[:8]
    with scratch_database(stack.settings) as scratch:
        settings = scratch.model_copy(update={"artifacts_bucket": f"drift-models-{tag}"})
        client("s3", settings).create_bucket(Bucket=settings.artifacts_bucket)
        config = TrainConfig(warmup_days=1, val_days=3, test_days=3, max_rounds=40, early_stopping_rounds=10)
        model = train(simulated(customers=400, days=14, fraud_rate=0.03, seed=5), config).model
        directory = tmp_path_factory.mktemp("model")
        registry.save_local(model, directory)
        registry.publish(settings, directory)
        registry.set_current(settings, model.version, "drift test")
        sim = SimulationConfig.create(customers=150, days=6, fraud_rate=0.03, seed=21)
        frame = pa.concat_tables(list(iter_tables(sim))).to_pandas()
        with connect(settings) as wh:
            load_events(wh, frame)
        yield Loaded(settings, model, frame)


def _drift(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fraudstack", "drift", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **settings.subprocess_env()},
        timeout=300,
        check=False,
    )


def _stored(settings: Settings) -> dict[str, tuple[float, str, int]]:
    with connect(settings) as wh:
        rows = wh.query(
            "SELECT metric, psi, status, window_rows FROM model_drift "
            "WHERE window_start = %s AND window_end = %s",
            WINDOW,
        )
    return {metric: (psi, status, rows) for metric, psi, status, rows in rows}


def test_drift_of_a_window_is_published_and_stored(loaded: Loaded) -> None:
    settings, model, frame = loaded.settings, loaded.model, loaded.frame
    since, until = (t.isoformat() for t in WINDOW)
    done = _drift(settings, "--since", since, "--until", until)
    assert done.returncode == 0, done.stderr
    in_window = ((frame["event_time"] >= WINDOW[0]) & (frame["event_time"] < WINDOW[1])).to_numpy()
    assert f"drift of {in_window.sum():,} transactions against model {model.version}" in done.stdout

    # The PSI of the batch features of all events (each card's and entity's whole history in
    # memory; no label is known: the test loads no fact_labels).
    features = compute_features(frame, NO_LABELS)[in_window]
    expected = measure(model.manifest["reference"], features, model.score(features))
    stored = _stored(settings)
    assert set(stored) == {*expected.features, "score"}
    for name, psi in {**expected.features, "score": expected.score}.items():
        assert stored[name][0] == pytest.approx(psi, abs=1e-6), name
        assert stored[name][2] == in_window.sum()

    cloudwatch = client("cloudwatch", settings)

    def published() -> set[str]:
        listed = cloudwatch.list_metrics(
            Namespace=settings.metrics_namespace, Dimensions=[{"Name": "Service", "Value": "drift"}]
        )
        return {m["MetricName"] for m in listed["Metrics"]}

    wanted = {"MaxFeaturePSI", "ScorePSI", "BrokenFeatures", "DriftRows", "FeaturePSI_amount"}
    wait_until(lambda: wanted <= published(), timeout=30, what="drift metrics in CloudWatch")


def test_an_amount_shift_reads_as_broken_and_a_rerun_replaces_the_rows(loaded: Loaded) -> None:
    settings = loaded.settings
    since, until = (t.isoformat() for t in WINDOW)
    assert _drift(settings, "--since", since, "--until", until).returncode == 0
    before = _stored(settings)
    with connect(settings) as wh:
        wh.execute(
            "UPDATE fact_transactions SET amount = amount * 6 WHERE event_ts >= %s AND event_ts < %s", WINDOW
        )
    try:
        done = _drift(settings, "--since", since, "--until", until)
        assert done.returncode == 0, done.stderr
        after = _stored(settings)
        assert set(after) == set(before)  # replaced, not added
        assert after["amount"][1] == "broken" and after["amount"][0] > before["amount"][0]
        assert "broken: amount" in done.stdout
    finally:
        with connect(settings) as wh:
            wh.execute(
                "UPDATE fact_transactions SET amount = amount / 6 WHERE event_ts >= %s AND event_ts < %s",
                WINDOW,
            )


def test_bad_windows_are_one_line(loaded: Loaded) -> None:
    for args, message in (
        (("--since", "yesterday"), "--since 'yesterday'"),
        (("--since", "1h", "--until", "2h"), "is not after"),
    ):
        done = _drift(loaded.settings, *args)
        assert (done.returncode, done.stderr.count("\n")) == (2, 1), done.stderr
        assert message in done.stderr
    empty = _drift(loaded.settings, "--since", "2030-01-01", "--until", "2030-01-02")
    assert empty.returncode == 0 and "no transactions" in empty.stdout


def _glue_drift_job(settings: Settings) -> subprocess.CompletedProcess[str]:
    """The pipeline's drift step as the local Glue runner starts it (``python script --JOB_NAME``)."""
    entry = declare(settings).pipeline.drift.script  # the generated script Glue runs
    with tempfile.TemporaryDirectory(prefix="fraudstack-drift-job-") as folder:
        script = Path(folder) / entry.name
        script.write_bytes(entry.read_bytes())
        return subprocess.run(
            [sys.executable, str(script), "--JOB_NAME", "model-drift"],
            capture_output=True,
            text=True,
            env={**os.environ, **settings.subprocess_env()},
            timeout=300,
            check=False,
        )


def test_the_pipeline_step_measures_the_day_up_to_the_newest_transaction(loaded: Loaded) -> None:
    settings, frame = loaded.settings, loaded.frame
    done = _glue_drift_job(settings)
    assert done.returncode == 0, done.stderr
    newest = frame["event_time"].max().to_pydatetime()
    until = newest + timedelta(microseconds=1)
    in_window = ((frame["event_time"] >= until - timedelta(hours=24)) & (frame["event_time"] < until)).sum()
    assert f"drift of {in_window:,} transactions against model {loaded.model.version}" in done.stdout
    with connect(settings) as wh:
        rows = wh.query(
            "SELECT count(*), min(window_rows) FROM model_drift WHERE window_start = %s AND window_end = %s",
            (until - timedelta(hours=24), until),
        )
    assert rows[0] == (len(loaded.model.manifest["reference"]["features"]) + 1, in_window)


def test_the_pipeline_step_before_any_model_does_nothing_and_succeeds(loaded: Loaded) -> None:
    """The first pipeline runs precede the first model: the step must not fail them."""
    tag = uuid.uuid4().hex[:8]
    empty = loaded.settings.model_copy(update={"artifacts_bucket": f"drift-none-{tag}"})
    client("s3", empty).create_bucket(Bucket=empty.artifacts_bucket)
    done = _glue_drift_job(empty)
    assert done.returncode == 0, done.stderr
    assert "no current model" in done.stdout
