"""Batch inference on a slice of history: what each Spark task of the inference job runs.

Why in the package and not in the Glue script: Spark ships task functions to executors by
pickling, and only code importable there (``fraudstack``, shipped with ``--extra-py-files``)
can be referenced; it also keeps the logic testable without Spark.
"""

from __future__ import annotations

import json

import pandas as pd

from fraudstack.features import compute_features
from fraudstack.features.definitions import ENTITY_FEATURES
from fraudstack.model.decision_rule import Thresholds
from fraudstack.model.fraud_model import FraudModel

#: Column marking the rows to score; the other rows are history only.
TARGET = "target"
#: Column of a history row: when its earliest fraud label became known (missing: none known).
FRAUD_KNOWN_AT = "fraud_known_at"
#: No label events: what scoring a file knows of its transactions' verdicts.
NO_LABELS = pd.DataFrame(
    {
        "transaction_id": pd.Series(dtype=str),
        "is_fraud": pd.Series(dtype=bool),
        "known_at": pd.Series(dtype="datetime64[us, UTC]"),
    }
)
_PROFILE_NAMES = frozenset(f.name for group in ENTITY_FEATURES.values() for f in group)


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


def known_labels(history: pd.DataFrame) -> pd.DataFrame:
    """The label events a history frame carries in its :data:`FRAUD_KNOWN_AT` column."""
    known = history[history[FRAUD_KNOWN_AT].notna()]
    return pd.DataFrame(
        {"transaction_id": known["transaction_id"], "is_fraud": True, "known_at": known[FRAUD_KNOWN_AT]}
    )


def entity_rows(history: pd.DataFrame, entity: str) -> pd.DataFrame:
    """One entity's profile features of the target rows, from ``history``: the entity's transactions
    (all cards, their last 30 days at least) with :data:`FRAUD_KNOWN_AT`. ``transaction_id`` first."""
    features = compute_features(history.drop(columns=[TARGET]), known_labels(history), entities=(entity,))
    new = history[TARGET].fillna(False).to_numpy(dtype=bool)
    names = [f.name for f in ENTITY_FEATURES[entity]]
    found = features.reindex(columns=names)[new]
    return pd.concat([history.loc[new, ["transaction_id"]], found], axis=1)


def score_new_rows(
    history: pd.DataFrame, model: FraudModel, thresholds: Thresholds, top_k: int
) -> pd.DataFrame:
    """Features over ``history`` (whole cards, their last 30 days at least), scores of the target rows.

    The target rows carry their entity profile features as columns already (each entity's are
    computed on that entity's history, :func:`entity_rows`). Returns ``transaction_id``,
    ``score``, ``decision`` and ``reason_codes`` (JSON text of the top-k reasons for rows at or
    above the review threshold; ``None`` for approved rows). Decisions follow
    :class:`~fraudstack.model.decision_rule.Thresholds`, the streaming scorer's rule.
    """
    profiled = [name for name in history.columns if name in _PROFILE_NAMES]
    features = compute_features(history.drop(columns=[TARGET, *profiled]), entities=())
    new = history[TARGET].fillna(False).to_numpy(dtype=bool)
    features = pd.concat([features, history[profiled]], axis=1)[new]
    return _decided(features, history.loc[new, "transaction_id"], model, thresholds, top_k)


def score_file(frame: pd.DataFrame, model: FraudModel, thresholds: Thresholds, top_k: int) -> pd.DataFrame:
    """Every row of a user's file (schema columns), scored as :func:`score_new_rows` scores.

    The file is its own history: a card's features see its earlier rows in the file, an
    entity's profile its earlier rows. No label feed comes with a file, so the delayed-label
    features count no known fraud; its label column, if any, is never read (a labelled and an
    unlabelled copy score alike).
    """
    return _decided(compute_features(frame, NO_LABELS), frame["transaction_id"], model, thresholds, top_k)
