"""The inference job's per-bucket step, without Spark."""

from __future__ import annotations

import json

import numpy as np

from fraudstack.features.definitions import ENTITIES
from fraudstack.model.data import Dataset
from fraudstack.model.decision_rule import Thresholds
from fraudstack.model.inference import FRAUD_KNOWN_AT, TARGET, entity_rows, score_new_rows
from fraudstack.model.training import TrainingResult
from fraudstack.settings import load_settings


def test_decision_bands() -> None:
    scores = np.array([0.1, 0.5, 0.89, 0.9, 0.99])
    assert Thresholds(review=0.5, decline=0.9, alert=0.8).names(scores).tolist() == [
        "approve",
        "review",
        "review",
        "decline",
        "decline",
    ]


def test_batch_and_streaming_share_one_rule() -> None:
    """A model threshold above the decline threshold: everything flagged is declined, in both paths."""
    thresholds = Thresholds.from_settings(load_settings(scorer_decline_threshold=0.9), model_threshold=0.95)
    scores = np.array([0.1, 0.5, 0.89, 0.92, 0.99])
    assert thresholds.names(scores).tolist() == ["approve"] * 3 + ["decline"] * 2


def test_scores_target_rows_from_their_history(small_dataset: Dataset, trained: TrainingResult) -> None:
    """The job's steps: each entity's profiles of the new rows on its history, then the cards' step."""
    model = trained.model
    assert small_dataset.labels is not None
    frauds = (
        small_dataset.labels[small_dataset.labels["is_fraud"]].groupby("transaction_id")["known_at"].min()
    )
    history = trained.frame.assign(
        **{TARGET: trained.split.test, FRAUD_KNOWN_AT: trained.frame["transaction_id"].map(frauds)}
    )
    for entity in ENTITIES:
        rows = entity_rows(history, entity).set_index("transaction_id")
        history = history.join(rows, on="transaction_id")
    history = history.drop(columns=[FRAUD_KNOWN_AT])
    thresholds = Thresholds(review=model.threshold, decline=0.99, alert=0.99)
    out = score_new_rows(history, model, thresholds, top_k=2)
    assert list(out["transaction_id"]) == list(trained.test_frame["transaction_id"])
    np.testing.assert_allclose(out["score"], trained.test_scores)
    flagged = out["decision"] != "approve"
    assert flagged.any() and out.loc[~flagged, "reason_codes"].isna().all()
    assert all(1 <= len(json.loads(codes)) <= 2 for codes in out.loc[flagged, "reason_codes"])
