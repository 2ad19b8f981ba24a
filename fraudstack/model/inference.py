"""Batch inference on a slice of history: what each Spark task of the inference job runs.

Why in the package and not in the Glue script: Spark ships task functions to executors by
pickling, and only code importable there (``fraudstack``, shipped with ``--extra-py-files``)
can be referenced; it also keeps the logic testable without Spark.
"""

from __future__ import annotations

import json

import pandas as pd

from fraudstack.features import compute_features
from fraudstack.model.decisions import Thresholds
from fraudstack.model.scoring import FraudModel

#: Column marking the rows to score; the other rows are history only.
TARGET = "target"


def _decided(
    features: pd.DataFrame, transaction_ids: pd.Series, model: FraudModel, thresholds: Thresholds, top_k: int
) -> pd.DataFrame:
    """``transaction_id``, ``score``, ``decision``, ``reason_codes`` of every row of ``features``."""
    scored = model.score_and_explain(features, top_k=top_k, threshold=thresholds.review)
    scores = scored["score"].to_numpy()
    return pd.DataFrame(
        {
            "transaction_id": transaction_ids.to_numpy(),
            "score": scores,
            "decision": thresholds.names(scores),
            "reason_codes": [
                None if found is None else json.dumps([r.as_dict() for r in found])
                for found in scored["reasons"]
            ],
        }
    )


def score_new_rows(
    history: pd.DataFrame, model: FraudModel, thresholds: Thresholds, top_k: int
) -> pd.DataFrame:
    """Features over ``history`` (whole cards, their last 30 days at least), scores of the target rows.

    Returns ``transaction_id``, ``score``, ``decision`` and ``reason_codes`` (JSON text of the
    top-k reasons for rows at or above the review threshold; ``None`` for approved rows).
    Decisions follow :class:`~fraudstack.model.decisions.Thresholds`, the streaming scorer's rule.
    """
    features = compute_features(history.drop(columns=[TARGET]))
    new = history[TARGET].fillna(False).to_numpy(dtype=bool)
    return _decided(features[new], history.loc[new, "transaction_id"], model, thresholds, top_k)


def score_file(frame: pd.DataFrame, model: FraudModel, thresholds: Thresholds, top_k: int) -> pd.DataFrame:
    """Every row of a user's file (schema columns), scored as :func:`score_new_rows` scores.

    The file is its own history: a card's features see its earlier rows in the file.
    """
    return _decided(compute_features(frame), frame["transaction_id"], model, thresholds, top_k)
