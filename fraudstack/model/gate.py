"""The promotion gate: may a challenger replace the champion? A pure function of scores and drift.

Why both models are scored on the *same* labelled window: each model's own test metrics were
measured on other days, and fraud rates and patterns differ from week to week; only the same
rows say which ranks fraud better. Why two metrics: average precision (AP) judges the whole
ranking, recall at the alert budget judges what the fraud team actually reviews (the top
``alert_budget`` of transactions); a challenger can gain AP in the tail nobody reviews and
lose where it matters, or the reverse. Why margins: on a window with a few hundred frauds
one fraud moves recall by a fraction of a percent, so "no worse" means "not worse by more
than the noise" (:class:`GatePolicy`). Why drift: a challenger whose features on the
evaluation window already sit far outside what it was trained on (:data:`~.drift.BROKEN_PSI`)
is being judged on data it does not understand - most often a broken feature pipeline -
and is refused whatever its metrics.

The decision carries its reason as one line, which the registry records with the promotion
(:func:`fraudstack.model.registry.set_current`) or the refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score

from fraudstack.model.drift import BROKEN_PSI
from fraudstack.model.metrics import at_budget


@dataclass(frozen=True)
class GatePolicy:
    """How much worse than the champion a challenger may be, and where drift is broken.

    ``ap_margin`` and ``recall_margin`` are absolute: a challenger passes with AP at least
    the champion's less ``ap_margin`` (likewise recall at ``alert_budget``).
    """

    ap_margin: float = 0.005
    recall_margin: float = 0.01
    alert_budget: float = 0.005
    broken_psi: float = BROKEN_PSI


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict, the figures it compared and the reason in one line."""

    promote: bool
    reason: str
    challenger: dict[str, float]
    champion: dict[str, float] | None
    broken_features: dict[str, float] = field(default_factory=dict)
    policy: GatePolicy = field(default_factory=GatePolicy)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def window_metrics(
    labels: np.ndarray, scores: np.ndarray, amount: np.ndarray, budget: float
) -> dict[str, float]:
    """AP and recall at the alert budget of one model's scores on the labelled window."""
    return {
        "average_precision": round(float(average_precision_score(labels, scores)), 6),
        "recall_at_budget": round(float(at_budget(labels, scores, amount, budget)["recall"]), 6),
    }


def decide(
    labels: np.ndarray,
    amount: np.ndarray,
    challenger_scores: np.ndarray,
    champion_scores: np.ndarray | None,
    drift: Mapping[str, float],
    policy: GatePolicy | None = None,
) -> GateDecision:
    """Promote or not: champion and challenger scores of the same rows, the challenger's drift.

    ``champion_scores`` is None when there is no champion (or it cannot score this window:
    another feature version); the challenger then needs only to pass the drift check.
    ``drift`` is the PSI per feature of the window against the challenger's training reference.
    """
    policy = policy or GatePolicy()
    if not 0 < labels.sum() < len(labels):
        raise ValueError("the gate's window needs both fraud and legitimate rows")
    ours = window_metrics(labels, challenger_scores, amount, policy.alert_budget)
    broken = {
        name: round(value, 4)
        for name, value in sorted(drift.items(), key=lambda item: -item[1])
        if value >= policy.broken_psi
    }
    theirs = (
        None
        if champion_scores is None
        else window_metrics(labels, champion_scores, amount, policy.alert_budget)
    )

    def verdict(promote: bool, reason: str) -> GateDecision:
        return GateDecision(promote, reason, ours, theirs, broken, policy)

    if broken:
        listed = ", ".join(f"{name} {value:.2f}" for name, value in broken.items())
        return verdict(False, f"refused: broken drift (PSI >= {policy.broken_psi:g}) on {listed}")
    if theirs is None:
        return verdict(True, "promoted: no champion to compare with")
    worse = [
        f"{label} {ours[key]:.4f} < champion {theirs[key]:.4f} - {margin:g}"
        for key, label, margin in (
            ("average_precision", "AP", policy.ap_margin),
            ("recall_at_budget", f"recall at {policy.alert_budget:.2%}", policy.recall_margin),
        )
        if ours[key] < theirs[key] - margin
    ]
    if worse:
        return verdict(False, "refused: " + "; ".join(worse))
    return verdict(
        True,
        f"promoted: AP {ours['average_precision']:.4f} vs champion {theirs['average_precision']:.4f}, "
        f"recall at {policy.alert_budget:.2%} {ours['recall_at_budget']:.4f} vs "
        f"{theirs['recall_at_budget']:.4f}, no broken drift",
    )
