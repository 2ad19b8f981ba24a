"""Training mechanics: the time split, the threshold policies, determinism, the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudstack.errors import ConfigError
from fraudstack.model.data import Dataset
from fraudstack.model.metrics import ThresholdPolicy, choose_threshold
from fraudstack.model.registry import model_to_bytes
from fraudstack.model.report import write_report
from fraudstack.model.training import TrainConfig, TrainingResult, time_split, train
from fraudstack.schema import FRAUD_TYPES
from tests.model.conftest import SMALL_CONFIG


def test_split_is_in_time_order_with_gaps(trained: TrainingResult) -> None:
    days = pd.to_datetime(trained.frame["event_time"]).dt.floor("D")
    split = trained.split
    assert not (split.train & split.val).any() and not (split.val & split.test).any()
    assert days[split.train].max() + pd.Timedelta(days=1) < days[split.val].min()
    assert days[split.val].max() + pd.Timedelta(days=1) < days[split.test].min()
    assert days[split.train].min() > days.min()  # warm-up day is history only


def test_split_refuses_too_few_days() -> None:
    times = pd.Series(pd.date_range("2025-01-01", periods=5, freq="D", tz="UTC"))
    with pytest.raises(ConfigError, match="needs at least"):
        time_split(times, TrainConfig())


def test_cost_threshold_minimises_cost() -> None:
    labels = np.array([1, 1, 0, 1, 0, 0, 0, 0], dtype=bool)
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    # Flag down to 0.6: one false alarm, no miss (cost 1); stopping at 0.8 misses one (cost 5).
    assert choose_threshold(labels, scores, ThresholdPolicy(mode="cost", cost_ratio=5)) == 0.6
    assert choose_threshold(labels, scores, ThresholdPolicy(mode="cost", cost_ratio=0.5)) == 0.8


def test_budget_threshold_respects_alert_rate(trained: TrainingResult) -> None:
    labels = trained.frame["is_fraud"].to_numpy()[trained.split.val]
    policy = ThresholdPolicy(mode="budget", alert_rate=0.02)
    threshold = choose_threshold(labels, trained.val_scores, policy)
    assert (trained.val_scores >= threshold).mean() <= 0.02 + 1 / len(labels)


def test_evaluation_has_every_report_metric(trained: TrainingResult) -> None:
    test = trained.evaluation["test"]
    for key in ("average_precision", "roc_auc", "precision", "recall", "f1", "recall_at_1pct_fpr", "money"):
        assert test[key] is not None, key
    assert test["at_budget"]["alerts"] == int(SMALL_CONFIG.alert_budget * test["rows"])
    assert 0 < test["at_budget"]["value_caught"] <= 1
    assert set(test["by_type"]) <= set(FRAUD_TYPES)
    assert all(t["average_precision"] is not None for t in test["by_type"].values())
    assert test["card_precision_at_k"]["per_day"]
    assert sum(test["confusion"].values()) == test["rows"]
    manifest = trained.model.manifest
    assert manifest["data"]["windows"]["test"]["days"] and manifest["code_version"]
    assert not {"is_fraud", "fraud_type"} & set(manifest["features"])
    assert manifest["fraud_row_weight"] > 1  # legit rows outnumber fraud even after sampling


def test_training_is_deterministic(small_dataset: Dataset, trained: TrainingResult) -> None:
    again = train(small_dataset, SMALL_CONFIG)
    assert model_to_bytes(again.model) == model_to_bytes(trained.model)
    assert again.model.threshold == trained.model.threshold


def test_report_files(trained: TrainingResult, tmp_path: Path) -> None:
    write_report(trained, tmp_path, {"decision": "not published"})
    body = json.loads((tmp_path / "report.json").read_text())
    assert body["seed_figures"]["roc_auc"] == 1.0
    text = (tmp_path / "report.md").read_text()
    assert "average precision" in text and "seed notebook" in text and "label noise" in text
    assert "card precision@50 per day" in text and "recall at an alert budget of 0.50%" in text
    assert "still unknown then, so fitted and tuned as legitimate" in text and body["labels"]["delayed"]
    for plot in ("pr_curve", "roc_curve", "scores", "recall_by_type", "precision_at_k", "importance"):
        assert (tmp_path / "plots" / f"{plot}.png").stat().st_size > 1000


def test_training_sees_only_the_labels_known_at_the_test_windows_start(
    small_dataset: Dataset, trained: TrainingResult
) -> None:
    labels = trained.model.manifest["labels"]
    split, truth = trained.split, trained.frame["is_fraud"].to_numpy(dtype=bool)
    assert labels["delayed"] and labels["cutoff"] == f"{split.ranges['test'][0]}T00:00:00+00:00"
    assert labels["frauds"] == {"train": int(truth[split.train].sum()), "val": int(truth[split.val].sum())}
    # Chargebacks take days to weeks: the validation window's frauds are mostly still unknown.
    assert 0 < labels["unknown_at_cutoff"]["train"] < labels["frauds"]["train"]
    assert labels["unknown_at_cutoff"]["val"] > labels["frauds"]["val"] / 2
    known = small_dataset.labels
    assert known is not None
    cutoff = pd.Timestamp(labels["cutoff"])
    first = known[known["is_fraud"]].groupby("transaction_id")["known_at"].min()
    in_train = set(trained.frame.loc[split.train & truth, "transaction_id"])
    assert labels["unknown_at_cutoff"]["train"] == len(in_train) - int(
        (first.reindex(list(in_train)) <= cutoff).sum()
    )
    # The test window is still scored against every eventual label.
    assert trained.evaluation["test"]["confusion"]["tp"] + trained.evaluation["test"]["confusion"][
        "fn"
    ] == int(truth[split.test].sum())


def test_without_label_times_a_fraud_counts_from_a_fixed_delay(small_dataset: Dataset) -> None:
    bare = Dataset(frame=small_dataset.frame, source="no label times")
    config = SMALL_CONFIG.model_copy(update={"label_delay_days": 2.0, "max_rounds": 5})
    labels = train(bare, config).model.manifest["labels"]
    assert "2 days after it" in labels["basis"]
    frame, cutoff = bare.frame, pd.Timestamp(labels["cutoff"])
    late = frame["is_fraud"] & (frame["event_time"] + pd.Timedelta(days=2) > cutoff)
    split = time_split(frame["event_time"], config)
    assert labels["unknown_at_cutoff"]["val"] == int((late & split.val).sum())
    instant = train(bare, config.model_copy(update={"delayed_labels": False})).model.manifest["labels"]
    assert not instant["delayed"] and instant["unknown_at_cutoff"] == labels["unknown_at_cutoff"]
