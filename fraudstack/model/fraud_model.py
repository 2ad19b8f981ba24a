"""A trained model ready to score, decide and explain: what inference and the scorer hold.

Why reason codes from TreeSHAP: an analyst reviewing an alert needs to know *why* it fired
("7 transactions on this card in 10 minutes", "new device"). XGBoost's exact TreeSHAP
(``pred_contribs=True``) splits each raw score (log-odds margin) into one contribution per
feature plus a bias that sum to it exactly. It costs far more than scoring a row (BENCHMARKS.md,
"Fraud model"), so only flagged rows are explained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from fraudstack.errors import FraudstackError
from fraudstack.features.definitions import DESCRIPTIONS, FEATURE_INDEX, FEATURE_VERSION

#: Threads for XGBoost: the machines this runs on are small and shared.
NTHREAD = 2


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason code: a feature, its value for this transaction, and how much it raised the score.

    ``contribution`` is in log-odds (the model's raw margin); positive pushes towards fraud.
    """

    feature: str
    value: float
    contribution: float

    def as_dict(self) -> dict[str, Any]:
        value = None if math.isnan(self.value) else self.value
        return {"feature": self.feature, "value": value, "contribution": round(self.contribution, 4)}

    def text(self) -> str:
        """One line for an analyst: ``new device = 1 (+2.31): device not used by this card...``."""
        value = "missing" if math.isnan(self.value) else f"{self.value:g}"
        return f"{self.feature} = {value} ({self.contribution:+.2f}): {DESCRIPTIONS.get(self.feature, '')}"


@dataclass
class FraudModel:
    """An XGBoost booster with the feature list and threshold it was trained with."""

    booster: xgb.Booster
    features: tuple[str, ...]
    threshold: float
    version: str = "unversioned"
    manifest: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.booster.set_param({"nthread": NTHREAD})
        unknown = [name for name in self.features if name not in FEATURE_INDEX]
        if unknown:
            raise FraudstackError(f"model {self.version} uses features this code does not define: {unknown}")
        trained_on = self.manifest.get("feature_version", FEATURE_VERSION)
        if trained_on != FEATURE_VERSION:
            raise FraudstackError(
                f"model {self.version} was trained on feature version {trained_on}, this code computes "
                f"version {FEATURE_VERSION}: retrain with 'fraudstack train'"
            )

    @property
    def online_columns(self) -> np.ndarray:
        """Indices into an :class:`~fraudstack.features.OnlineFeatures` row of this model's features."""
        return np.array([FEATURE_INDEX[name] for name in self.features])

    def matrix(self, features: pd.DataFrame | np.ndarray) -> xgb.DMatrix:
        """A DMatrix of this model's feature columns (a frame by name; an array as already selected)."""
        if isinstance(features, pd.DataFrame):
            missing = [name for name in self.features if name not in features.columns]
            if missing:
                raise FraudstackError(f"model {self.version} needs features the data lacks: {missing}")
            values = features[list(self.features)].to_numpy(dtype=np.float32)
        else:
            values = np.asarray(features, dtype=np.float32)
        return xgb.DMatrix(values, feature_names=list(self.features), nthread=NTHREAD)

    def score(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Fraud probability per row (as calibrated as training with class weights allows)."""
        return np.asarray(self.booster.predict(self.matrix(features)), dtype=np.float64)

    def contributions(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        """TreeSHAP: one column per feature plus the bias last; each row sums to the raw margin."""
        return np.asarray(self.booster.predict(self.matrix(features), pred_contribs=True), dtype=np.float64)

    def margin(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(self.matrix(features), output_margin=True), dtype=np.float64)

    def reasons(self, features: pd.DataFrame | np.ndarray, top_k: int = 3) -> list[list[Reason]]:
        """The ``top_k`` features that pushed each row's score up the most (positive contributions)."""
        values = (
            features[list(self.features)].to_numpy(dtype=np.float64)
            if isinstance(features, pd.DataFrame)
            else np.asarray(features, dtype=np.float64)
        )
        if not len(values):
            return []
        contribs = self.contributions(values)[:, :-1]
        top = np.argsort(-contribs, axis=1, kind="stable")[:, :top_k]
        return [
            [
                Reason(self.features[j], float(values[i, j]), float(contribs[i, j]))
                for j in top[i]
                if contribs[i, j] > 0
            ]
            for i in range(len(values))
        ]

    def score_and_explain(
        self, features: pd.DataFrame, top_k: int = 3, threshold: float | None = None
    ) -> pd.DataFrame:
        """Score every row; reason codes for the flagged rows only (``None`` elsewhere).

        ``threshold`` overrides the model's own (a deployment may review from another score).
        Returns a frame on ``features``' index with ``score``, ``flagged`` and ``reasons``
        (a list of :class:`Reason` per flagged row).
        """
        scores = self.score(features)
        flagged = scores >= (self.threshold if threshold is None else threshold)
        reasons: list[list[Reason] | None] = [None] * len(scores)
        picked = np.flatnonzero(flagged)
        for row, found in zip(picked, self.reasons(features.iloc[picked], top_k), strict=True):
            reasons[row] = found
        return pd.DataFrame({"score": scores, "flagged": flagged, "reasons": reasons}, index=features.index)
