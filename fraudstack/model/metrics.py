"""Choosing the alert threshold and measuring a model the way a fraud team reads it.

Why these metrics: fraud is rare (under 1% of transactions), so accuracy and even ROC-AUC
flatter any model; average precision says how clean the ranking is, and the rest answer the
questions a fraud team asks of a fixed review capacity:

* **recall at an alert budget** - of all fraud, the share among the top ``alert_rate`` of
  transactions by score (the team reviews that many, whatever the threshold);
* **value caught** - the fraud amount among those alerts over all fraud amount (a model that
  catches the small frauds and misses the large ones is worth less than its recall says);
* **card precision@k per day** - analysts review cards, not transactions: each day, the k
  cards with the highest score that day (each card once, by its highest score), and the share
  of them with fraud that day.

Per fraud type (archetype) where the labels carry one, so a type the model misses is not hidden
in an average.
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
    # Only the last row of a run of equal scores is a real cut (ties are flagged together).
    cut = np.r_[ranked[1:] != ranked[:-1], True]
    if policy.mode == "budget":
        # The lowest cut that flags at most the budget: a tie straddling it is left out whole
        # (a coarse model ties many rows), or nothing is flagged if the top tie alone is over.
        k = max(1, int(policy.alert_rate * len(scores)))
        within = np.flatnonzero(cut[:k])
        return float(ranked[within[-1]]) if len(within) else float(np.nextafter(ranked[0], np.inf))
    hits = np.cumsum(labels[order].astype(np.int64))
    flagged = np.arange(1, len(scores) + 1)
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


def top_alerts(scores: np.ndarray, alert_rate: float) -> np.ndarray:
    """Mask of the ``max(1, int(alert_rate * n))`` highest scores: exactly the budget.

    Ties at the cut go to the earlier rows, so the alert count never exceeds the budget.
    """
    alerted = np.zeros(len(scores), dtype=bool)
    if len(scores):
        k = max(1, int(alert_rate * len(scores)))
        alerted[np.argsort(-scores, kind="stable")[:k]] = True
    return alerted


def value_caught(labels: np.ndarray, amount: np.ndarray, alerted: np.ndarray) -> float:
    """Fraud amount among the alerted rows / all fraud amount (0 without fraud)."""
    return _safe_div(float(amount[labels & alerted].sum()), float(amount[labels].sum()))


def at_budget(
    labels: np.ndarray, scores: np.ndarray, amount: np.ndarray, alert_rate: float
) -> dict[str, Any]:
    """Recall and value caught when the team reviews the top ``alert_rate`` of transactions."""
    alerted = top_alerts(scores, alert_rate)
    return {
        "alert_rate": alert_rate,
        "alerts": int(alerted.sum()),
        "recall": _safe_div(int((labels & alerted).sum()), int(labels.sum())),
        "value_caught": value_caught(labels, amount, alerted),
    }


def card_precision_at_k(
    cards: np.ndarray, days: np.ndarray, labels: np.ndarray, scores: np.ndarray, k: int
) -> dict[str, Any]:
    """Per day: the k cards with the highest score that day, and the share with fraud that day.

    A card counts once per day, ranked by its highest score that day (ties by card id), and is
    a hit when any of its transactions that day is fraud. A day with fewer than k cards is
    measured on the cards it has.
    """
    frame = pd.DataFrame({"card": cards, "day": days, "fraud": labels, "score": scores})
    per_card = frame.groupby(["day", "card"], sort=True).agg(score=("score", "max"), fraud=("fraud", "any"))
    per_card = per_card.reset_index().sort_values(["day", "score", "card"], ascending=[True, False, True])
    top = per_card.groupby("day", sort=True).head(k)
    per_day = {str(day): float(hits.mean()) for day, hits in top.groupby("day", sort=True)["fraud"]}
    return {"k": k, "mean": float(np.mean(list(per_day.values()))) if per_day else 0.0, "per_day": per_day}


def _ranking(labels: np.ndarray, scores: np.ndarray) -> dict[str, float | None]:
    """AP and ROC-AUC, or None for both when the rows hold only one class."""
    if not 0 < labels.sum() < len(labels):
        return {"average_precision": None, "roc_auc": None}
    return {
        "average_precision": float(average_precision_score(labels, scores)),
        "roc_auc": float(roc_auc_score(labels, scores)),
    }


def by_fraud_type(
    types: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    amount: np.ndarray,
    flagged: np.ndarray,
    alerted: np.ndarray,
) -> dict[str, dict[str, Any]]:
    """Each labelled fraud type against all legitimate rows.

    AP and ROC-AUC rank one type's frauds among the legitimate rows (the other types left
    out, so they count neither way); recall at the threshold and at the budget, and value
    caught, are the shares of that type's frauds and amount among the flagged / alerted rows
    of the whole window. Card precision is a property of the alert list, not of one type, so
    it is reported overall only.
    """
    result: dict[str, dict[str, Any]] = {}
    for name in sorted(set(types[labels]) - {""}):
        of_type = labels & (types == name)
        rows = of_type | ~labels
        result[str(name)] = {
            "frauds": int(of_type.sum()),
            "caught": int((of_type & flagged).sum()),
            "recall": _safe_div(int((of_type & flagged).sum()), int(of_type.sum())),
            **_ranking(of_type[rows], scores[rows]),
            "recall_at_budget": _safe_div(int((of_type & alerted).sum()), int(of_type.sum())),
            "value_caught_at_budget": value_caught(of_type, amount, alerted),
        }
    return result


def evaluate(
    frame: pd.DataFrame,
    scores: np.ndarray,
    threshold: float,
    k_per_day: int = 50,
    alert_budget: float = 0.005,
) -> dict[str, Any]:
    """Every metric of the report for one window.

    ``frame`` holds ``is_fraud``, ``event_time``, ``amount``, ``card_id`` and, when known,
    ``fraud_type`` for the scored rows, in the order of ``scores``.
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
        **_ranking(labels, scores),
        "recall_at_1pct_fpr": recall_at_fpr(labels, scores) if both_classes else None,
        **at_threshold(labels, scores, threshold),
        "at_budget": at_budget(labels, scores, amount, alert_budget),
        "card_precision_at_k": card_precision_at_k(
            frame["card_id"].astype(str).to_numpy(), days, labels, scores, k_per_day
        ),
    }
    if "fraud_type" in frame:
        types = frame["fraud_type"].astype("string").fillna("").to_numpy()
        result["by_type"] = by_fraud_type(
            types, labels, scores, amount, flagged, top_alerts(scores, alert_budget)
        )
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
