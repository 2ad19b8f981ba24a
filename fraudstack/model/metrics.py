"""Choosing the alert threshold and measuring a model the way a fraud team reads it.

Why these metrics: fraud is rare (under 1% of transactions), so accuracy and even ROC-AUC
flatter any model; average precision, recall at a fixed false-positive rate, and precision
among the k alerts a team can review per day say whether the alerts are worth reading.
Money caught vs missed says what the model is worth. Recall per fraud type shows which
archetype it misses instead of hiding it in an average.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

ThresholdMode = Literal["cost", "budget"]


@dataclass(frozen=True)
class ThresholdPolicy:
    """How the alert threshold is chosen on the validation window.

    ``cost``: minimise ``false alarms + cost_ratio * missed frauds`` (a missed fraud costs
    ``cost_ratio`` times a needless review). ``budget``: flag at most ``alert_rate`` of all
    transactions (the team's review capacity).
    """

    mode: ThresholdMode = "cost"
    cost_ratio: float = 10.0
    alert_rate: float = 0.01

    def describe(self) -> str:
        if self.mode == "cost":
            return f"minimum cost on validation, a missed fraud costing {self.cost_ratio:g} false alarms"
        return f"alert budget on validation: at most {self.alert_rate:.2%} of transactions flagged"


def choose_threshold(labels: np.ndarray, scores: np.ndarray, policy: ThresholdPolicy) -> float:
    """The score at or above which a transaction is flagged."""
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    if policy.mode == "budget":
        k = max(1, int(policy.alert_rate * len(scores)))
        return float(ranked[k - 1])
    hits = np.cumsum(labels[order].astype(np.int64))
    flagged = np.arange(1, len(scores) + 1)
    # Only the last row of a run of equal scores is a real cut (ties are flagged together).
    cut = np.r_[ranked[1:] != ranked[:-1], True]
    cost = (flagged - hits) + policy.cost_ratio * (hits[-1] - hits)
    best = np.flatnonzero(cut)[np.argmin(cost[cut])]
    return float(ranked[best])


def _safe_div(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def at_threshold(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """Confusion matrix and precision / recall / F1 of the rule ``score >= threshold``."""
    flagged = scores >= threshold
    tp = int((flagged & labels).sum())
    fp = int((flagged & ~labels).sum())
    fn = int((~flagged & labels).sum())
    tn = int((~flagged & ~labels).sum())
    precision = _safe_div(tp, tp + fp)
    recall = _safe_div(tp, tp + fn)
    return {
        "threshold": threshold,
        "precision": precision,
        "recall": recall,
        "f1": _safe_div(2 * precision * recall, precision + recall),
        "alert_rate": _safe_div(tp + fp, len(labels)),
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
    }


def recall_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr_limit: float = 0.01) -> float:
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(tpr[fpr <= fpr_limit].max())


def evaluate(
    frame: pd.DataFrame, scores: np.ndarray, threshold: float, k_per_day: int = 50
) -> dict[str, Any]:
    """Every metric of the report for one window.

    ``frame`` holds ``is_fraud``, ``event_time``, ``amount`` and, when known, ``fraud_type``
    for the scored rows, in the order of ``scores``.
    """
    labels = frame["is_fraud"].to_numpy(dtype=bool)
    both_classes = 0 < labels.sum() < len(labels)
    flagged = scores >= threshold
    amount = frame["amount"].astype(float).to_numpy()
    days = pd.to_datetime(frame["event_time"], utc=True).dt.strftime("%Y-%m-%d").to_numpy()
    result: dict[str, Any] = {
        "rows": len(labels),
        "frauds": int(labels.sum()),
        "fraud_rate": _safe_div(labels.sum(), len(labels)),
        "average_precision": float(average_precision_score(labels, scores)) if both_classes else None,
        "roc_auc": float(roc_auc_score(labels, scores)) if both_classes else None,
        "recall_at_1pct_fpr": recall_at_fpr(labels, scores) if both_classes else None,
        **at_threshold(labels, scores, threshold),
    }
    per_day: dict[str, float] = {}
    for day in np.unique(days):
        on_day = days == day
        top = np.argsort(-scores[on_day], kind="stable")[:k_per_day]
        per_day[str(day)] = float(labels[on_day][top].mean())
    result["precision_at_k"] = {
        "k": k_per_day,
        "mean": float(np.mean(list(per_day.values()))),
        "per_day": per_day,
    }
    if "fraud_type" in frame:
        types = frame["fraud_type"].astype("string").fillna("").to_numpy()
        result["recall_by_type"] = {
            str(name): {
                "frauds": int(((types == name) & labels).sum()),
                "caught": int(((types == name) & labels & flagged).sum()),
                "recall": _safe_div(
                    ((types == name) & labels & flagged).sum(), ((types == name) & labels).sum()
                ),
            }
            for name in sorted(set(types[labels]) - {""})
        }
    caught = float(amount[labels & flagged].sum())
    missed = float(amount[labels & ~flagged].sum())
    result["money"] = {
        "fraud_total": caught + missed,
        "caught": caught,
        "missed": missed,
        "caught_share": _safe_div(caught, caught + missed),
        "legit_flagged": float(amount[~labels & flagged].sum()),
    }
    return result
