"""Fraud only at amounts far above the 99.9th percentile: the trees must be able to cut there.

Why this data: on outside data the histogram cut points followed the legitimate amounts, so
the highest split on ``amount`` sat near their 99th percentile while fraud came far above it.
Every card here has one transaction, so no history feature (``amount_to_mean_7d``...) can
stand in for the amount itself: only a split on ``amount`` separates the fraud.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from fraudstack.features import compute_features
from fraudstack.model.data import Dataset
from fraudstack.model.training import TrainConfig, TrainingResult, fit_matrix, train

#: Every label known at once (delayed_labels off): this is about where the bins cut amounts.
CONFIG = TrainConfig(
    warmup_days=1,
    val_days=3,
    test_days=3,
    legit_sample=1.0,
    max_rounds=60,
    early_stopping_rounds=20,
    delayed_labels=False,
)


def _extreme_fraud(rows: int = 30_000, frauds: int = 60, days: int = 14, seed: int = 5) -> Dataset:
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(3.5, 1.0, rows), 2)
    fraud = np.zeros(rows, dtype=bool)
    picked = rng.choice(rows, frauds, replace=False)
    amount[picked] = np.round(np.quantile(amount, 0.999) * rng.uniform(3, 20, frauds), 2)
    fraud[picked] = True
    start = pd.Timestamp("2025-01-01", tz="UTC")
    frame = pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(rows)],
            "event_time": start + pd.to_timedelta(np.sort(rng.uniform(0, days * 86_400, rows)), unit="s"),
            "card_id": [f"c{i}" for i in range(rows)],
            "amount": amount,
            "is_fraud": fraud,
        }
    )
    return Dataset(frame=frame, source="synthetic: fraud only at extreme amounts")


@pytest.fixture(scope="module")
def extreme() -> tuple[Dataset, TrainingResult]:
    dataset = _extreme_fraud()
    return dataset, train(dataset, CONFIG)


def _highest_amount_cut(booster: xgb.Booster) -> float:
    trees = booster.trees_to_dataframe()
    return float(trees.loc[trees["Feature"] == "amount", "Split"].max())


def _legit_p999(dataset: Dataset) -> float:
    frame = dataset.frame
    return float(frame.loc[~frame["is_fraud"], "amount"].quantile(0.999))


def test_the_unweighted_sketch_cannot_cut_above_the_legit_tail(
    extreme: tuple[Dataset, TrainingResult],
) -> None:
    """Control: the previous setup (``scale_pos_weight``, unweighted sketch) on the same rows."""
    dataset, result = extreme
    features = compute_features(dataset.frame)
    train_rows = result.split.train
    labels = dataset.frame["is_fraud"].to_numpy()[train_rows]
    dtrain = xgb.DMatrix(features.to_numpy()[train_rows], label=labels, feature_names=list(features.columns))
    params = {**CONFIG.xgb_params(), "scale_pos_weight": (~labels).sum() / labels.sum()}
    booster = xgb.train(params, dtrain, num_boost_round=result.model.booster.num_boosted_rounds())
    assert _highest_amount_cut(booster) < _legit_p999(dataset)


def test_training_cuts_among_the_extreme_amounts(extreme: tuple[Dataset, TrainingResult]) -> None:
    dataset, result = extreme
    assert _highest_amount_cut(result.model.booster) > _legit_p999(dataset)
    test = result.evaluation["test"]
    assert test["frauds"] > 0 and test["recall"] == 1.0 and test["precision"] >= 0.9


def test_fit_matrix_balances_the_classes() -> None:
    labels = np.array([True, False, False, False])
    weights = fit_matrix(np.zeros((4, 1)), labels, ("amount",)).get_weight()
    assert weights.tolist() == [3.0, 1.0, 1.0, 1.0]
