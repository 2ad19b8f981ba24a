"""The fraud-team metrics on tiny examples computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudstack.model.metrics import (
    ThresholdPolicy,
    at_budget,
    by_fraud_type,
    card_precision_at_k,
    choose_threshold,
    evaluate,
    top_alerts,
    value_caught,
)

#: Ten transactions, scores in descending order except where noted; three frauds.
LABELS = np.array([1, 0, 1, 0, 0, 0, 0, 1, 0, 0], dtype=bool)
SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
AMOUNT = np.array([100.0, 5, 300, 5, 5, 5, 5, 600, 5, 5])


def test_top_alerts_is_exactly_the_budget_with_ties_to_earlier_rows() -> None:
    assert top_alerts(SCORES, 0.2).tolist() == [True, True] + [False] * 8
    # 0.05 of ten rows rounds down to none: at least one row is alerted.
    assert top_alerts(SCORES, 0.05).sum() == 1
    tied = np.array([0.5, 0.9, 0.5, 0.5])
    assert top_alerts(tied, 0.5).tolist() == [True, True, False, False]


def test_recall_and_value_at_budget() -> None:
    # Top 30%: rows 0, 1, 2 -> frauds 0 and 2 of {0, 2, 7}; amounts 100 + 300 of 1000.
    result = at_budget(LABELS, SCORES, AMOUNT, 0.3)
    assert result == {"alert_rate": 0.3, "alerts": 3, "recall": pytest.approx(2 / 3), "value_caught": 0.4}
    assert value_caught(LABELS, AMOUNT, np.zeros(10, dtype=bool)) == 0.0
    assert value_caught(np.zeros(10, dtype=bool), AMOUNT, np.ones(10, dtype=bool)) == 0.0


def test_card_precision_counts_each_card_once_per_day() -> None:
    cards = np.array(["a", "a", "a", "b", "c", "a", "b", "c"])
    days = np.array(["d1"] * 5 + ["d2"] * 3)
    labels = np.array([0, 0, 1, 0, 1, 0, 1, 0], dtype=bool)
    scores = np.array([0.9, 0.8, 0.1, 0.7, 0.6, 0.2, 0.3, 0.9])
    # Day 1: card a (max 0.9, fraud in its low-scored row), b (0.7, legit), c (0.6, fraud).
    # Top 2 cards: a and b -> 1 of 2. Transaction-level top 2 would be a, a (a counted twice).
    # Day 2: c (0.9, legit), b (0.3, fraud), a (0.2, legit) -> top 2: 1 of 2.
    result = card_precision_at_k(cards, days, labels, scores, k=2)
    assert result == {"k": 2, "mean": 0.5, "per_day": {"d1": 0.5, "d2": 0.5}}
    # k larger than the day's cards: measured on the cards it has (3 each day).
    assert card_precision_at_k(cards, days, labels, scores, k=5)["per_day"] == {"d1": 2 / 3, "d2": 1 / 3}


def test_by_type_ranks_each_type_against_legit_only() -> None:
    types = np.array(["ato", "", "testing", "", "", "", "", "ato", "", ""])
    flagged = SCORES >= 0.65  # rows 0, 1, 2
    alerted = top_alerts(SCORES, 0.1)  # row 0
    result = by_fraud_type(types, LABELS, SCORES, AMOUNT, flagged, alerted)
    ato, testing = result["ato"], result["testing"]
    assert (ato["frauds"], ato["caught"], ato["recall"]) == (2, 1, 0.5)
    assert (testing["frauds"], testing["caught"], testing["recall"]) == (1, 1, 1.0)
    # ato among the 7 legit rows (testing left out): frauds at ranks 1 and 7 -> AP = (1/1 + 2/7) / 2.
    assert ato["average_precision"] == pytest.approx((1 + 2 / 7) / 2)
    # testing (0.7) is above 6 of the 7 legit rows (below 0.8): AUC 6/7.
    assert testing["roc_auc"] == pytest.approx(6 / 7)
    assert (ato["recall_at_budget"], ato["value_caught_at_budget"]) == (0.5, 100 / 700)
    assert (testing["recall_at_budget"], testing["value_caught_at_budget"]) == (0.0, 0.0)


def test_evaluate_reports_every_metric_overall_and_per_type() -> None:
    frame = pd.DataFrame(
        {
            "is_fraud": LABELS,
            "event_time": pd.date_range("2025-01-01", periods=10, freq="h", tz="UTC"),
            "amount": AMOUNT,
            "card_id": [f"c{i}" for i in range(10)],
            "fraud_type": ["ato", None, "testing", None, None, None, None, "ato", None, None],
        }
    )
    result = evaluate(frame, SCORES, threshold=0.65, k_per_day=2, alert_budget=0.3)
    assert result["average_precision"] == pytest.approx((1 + 2 / 3 + 3 / 8) / 3)
    assert result["roc_auc"] == pytest.approx(15 / 21)  # pairs fraud > legit: 7 + 6 + 2 of 21
    assert result["at_budget"]["recall"] == pytest.approx(2 / 3)
    assert result["card_precision_at_k"]["per_day"] == {"2025-01-01": 0.5}
    assert set(result["by_type"]) == {"ato", "testing"}


def test_a_budget_threshold_never_flags_more_than_the_budget_when_scores_tie() -> None:
    scores = np.array([0.9, 0.8, 0.5, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1])
    labels = np.zeros(len(scores), dtype=bool)
    budget = ThresholdPolicy(mode="budget", alert_rate=0.3)
    threshold = choose_threshold(labels, scores, budget)
    assert threshold == 0.8 and (scores >= threshold).sum() == 2  # the four tied at 0.5 would make 6
    tied = np.full(10, 0.5)
    assert (tied >= choose_threshold(labels, tied, budget)).sum() == 0
    assert choose_threshold(labels, scores, ThresholdPolicy(mode="budget", alert_rate=0.6)) == 0.5
