"""The inference job's per-bucket step, without Spark."""

from __future__ import annotations

import json

import numpy as np

from fraudstack.model.inference import TARGET, decide, score_new_rows
from fraudstack.model.training import TrainingResult


def test_decide_bands() -> None:
    scores = np.array([0.1, 0.5, 0.89, 0.9, 0.99])
    assert decide(scores, review=0.5, decline=0.9).tolist() == [
        "approve",
        "review",
        "review",
        "decline",
        "decline",
    ]
    # A review threshold above the decline one: everything flagged is declined.
    assert decide(scores, review=0.95, decline=0.9).tolist() == ["approve"] * 4 + ["decline"]


def test_scores_target_rows_from_their_history(trained: TrainingResult) -> None:
    model = trained.model
    history = trained.frame.assign(**{TARGET: trained.split.test})
    out = score_new_rows(history, model, review=model.threshold, decline=0.99, top_k=2)
    assert list(out["transaction_id"]) == list(trained.test_frame["transaction_id"])
    np.testing.assert_allclose(out["score"], trained.test_scores)
    flagged = out["decision"] != "approve"
    assert flagged.any() and out.loc[~flagged, "reason_codes"].isna().all()
    assert all(1 <= len(json.loads(codes)) <= 2 for codes in out.loc[flagged, "reason_codes"])
