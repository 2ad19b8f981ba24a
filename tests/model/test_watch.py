"""Automatic rollback on delayed-label precision, against a real warehouse and registry.

Simulated facts are loaded into a scratch warehouse; each model version's flags and their
fraud verdicts are written as the inference job and the ETL would (``fraud_predictions``,
``fact_labels``), with the times that make them mature or not.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from fraudstack.aws import client
from fraudstack.model import registry
from fraudstack.model.watch import MATURITY, check
from fraudstack.settings import Settings
from fraudstack.simulator import SimulationConfig, iter_tables
from fraudstack.warehouse import connect
from tests.support.stack import RunningStack
from tests.support.star import load_events
from tests.support.warehouse import scratch_database

FLAGS = 40


@pytest.fixture(scope="module")
def warehouse(stack: RunningStack) -> Iterator[tuple[Settings, pd.DataFrame]]:
    with scratch_database(stack.settings) as scratch:
        sim = SimulationConfig.create(customers=60, days=20, seed=3)
        frame = pa.concat_tables(list(iter_tables(sim))).to_pandas()
        with connect(scratch) as wh:
            load_events(wh, frame)
        yield scratch, frame.sort_values("event_time").reset_index(drop=True)


@pytest.fixture
def settings(warehouse: tuple[Settings, pd.DataFrame], tmp_path: Path) -> Settings:
    """A registry of its own holding three published versions (manifests are what promotion reads)."""
    scratch, _ = warehouse
    own = scratch.model_copy(update={"artifacts_bucket": f"watch-{uuid.uuid4().hex[:8]}"})
    client("s3", own).create_bucket(Bucket=own.artifacts_bucket)
    for version in ("v1-old", "v2-bad", "v3-good"):
        directory = tmp_path / version
        directory.mkdir()
        (directory / "manifest.json").write_text(json.dumps({"version": version}))
        registry.publish(own, directory)
    return own


def _flag(settings: Settings, rows: pd.DataFrame, version: str, confirmed: int, late: int = 0) -> None:
    """``version`` flagged ``rows``; the first ``confirmed`` were confirmed fraud within a day,
    the next ``late`` only after the maturity (they must not count)."""
    with connect(settings) as wh:
        wh.upsert(
            "fraud_predictions",
            [
                (t, version, 0.9, "review", when)
                for t, when in zip(rows["transaction_id"], rows["event_time"], strict=True)
            ],
            columns=("transaction_id", "model_version", "score", "decision", "scored_at"),
            update=True,
        )
        verdicts = [
            (
                t,
                "analyst",
                True,
                when + (timedelta(days=1) if i < confirmed else MATURITY + timedelta(days=2)),
            )
            for i, (t, when) in enumerate(zip(rows["transaction_id"], rows["event_time"], strict=True))
            if i < confirmed + late
        ]
        wh.upsert(
            "fact_labels", verdicts, columns=("transaction_id", "source", "is_fraud", "known_at"), update=True
        )


def test_a_promoted_model_less_precise_than_its_predecessor_is_rolled_back(
    warehouse: tuple[Settings, pd.DataFrame], settings: Settings
) -> None:
    _, frame = warehouse
    mature = frame[frame["event_time"] < frame["event_time"].max() - MATURITY - timedelta(days=1)]
    old, bad, good = (mature.iloc[i * FLAGS : (i + 1) * FLAGS] for i in range(3))
    _flag(settings, old, "v1-old", confirmed=20)  # precision 0.5
    _flag(settings, bad, "v2-bad", confirmed=5, late=15)  # 0.125 in time (0.5 eventually)
    _flag(settings, good, "v3-good", confirmed=19)  # 0.475: within the margin
    registry.set_current(settings, "v1-old", "first")
    registry.set_current(settings, "v2-bad", "retrained")

    said = check(settings)
    assert said.startswith("watch: rolled back v2-bad to v1-old"), said
    assert "precision 0.125 (5/40 mature flags)" in said
    assert registry.current_version(settings) == "v1-old"
    event = registry.history(settings, "v1-old")[-1]
    assert event["action"] == "rollback" and event["by"].startswith("automatic rollback")
    # a rollback's target is not judged again (no back and forth)
    assert check(settings).startswith("watch: no promoted model")

    registry.set_current(settings, "v3-good", "retrained again")
    said = check(settings)
    assert said.startswith("watch: v3-good kept"), said
    assert registry.current_version(settings) == "v3-good"


def test_too_few_mature_flags_judge_nothing(settings: Settings) -> None:
    registry.set_current(settings, "v1-old", "first")
    registry.set_current(settings, "v3-good", "retrained")
    said = check(settings, min_flags=FLAGS + 1)
    assert said.startswith(f"watch: v3-good not judged yet, fewer than {FLAGS + 1}"), said
    assert registry.current_version(settings) == "v3-good"
