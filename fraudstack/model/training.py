"""Training: time-based split, class weights, early stopping, threshold on validation.

Labels arrive late (:mod:`fraudstack.model.label_cutoff`): the model is fit and its threshold
chosen on the labels known at the test window's start, when it would be deployed; frauds not
known by then count as legitimate there, as they would for a bank. The test window is scored
against every eventual label. The manifest and the report say how many were still unknown.

Why a time split with gaps: fraud models are used on the future, and fraud comes in
campaigns that span hours or days; a random split would put rows of one campaign in train
and test and overstate every metric. The first ``warmup_days`` only provide history for
features (cards start with no past there), then train, a gap, validation (early stopping and
the threshold), a gap, and the untouched test window the report is about.

Everything is deterministic for a given dataset and config: fixed seed, fixed thread count,
``hist`` trees. The returned :class:`TrainingResult` is independent of S3;
:mod:`fraudstack.model.release` publishes it.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata, resources
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fraudstack.errors import ConfigError
from fraudstack.features import CARD_FEATURE_NAMES, FEATURE_VERSION, compute_features, label_events
from fraudstack.features.definitions import DAY
from fraudstack.labels import DEFAULT_LABEL_DELAY
from fraudstack.model import drift
from fraudstack.model.data import LABEL, Dataset
from fraudstack.model.fraud_model import NTHREAD, FraudModel
from fraudstack.model.label_cutoff import KnownLabels, known_by
from fraudstack.model.metrics import ThresholdMode, ThresholdPolicy, choose_threshold, evaluate
from fraudstack.model.registry import model_to_bytes


class TrainConfig(BaseModel):
    """Knobs of one training run (the CLI exposes them as options)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    warmup_days: int = Field(default=3, ge=0, description="history-only days at the start")
    val_days: int = Field(default=5, ge=1)
    test_days: int = Field(default=5, ge=1)
    gap_days: int = Field(default=1, ge=0, description="days left out between train, validation and test")
    threshold_mode: ThresholdMode = "cost"
    cost_ratio: float = Field(default=10.0, gt=0, description="cost of a missed fraud in false alarms")
    alert_rate: float = Field(
        default=0.01, gt=0, le=1, description="share of transactions flagged (budget mode)"
    )
    k_per_day: int = Field(default=50, ge=1, description="cards reviewed per day, for card precision@k")
    alert_budget: float = Field(
        default=0.005, gt=0, le=1, description="share of transactions alerted, for recall and value at budget"
    )
    legit_sample: float = Field(
        default=0.25, gt=0, le=1, description="share of legitimate training rows kept (fraud rows all kept)"
    )
    delayed_labels: bool = Field(
        default=True,
        description="fit and tune on the labels known at the test window's start only, as deployed",
    )
    label_delay_days: float = Field(
        default=DEFAULT_LABEL_DELAY.days,
        ge=0,
        description="for data without label times: days from a fraud to its label being known",
    )
    card_only: bool = Field(
        default=False,
        description="only the card's own features, no merchant/device/IP/customer profiles (the baseline)",
    )
    max_rounds: int = Field(default=1000, ge=1)
    early_stopping_rounds: int = Field(default=40, ge=1)
    learning_rate: float = Field(default=0.1, gt=0, le=1)
    max_depth: int = Field(default=6, ge=1, le=16)
    seed: int = 42

    @classmethod
    def create(cls, **values: Any) -> TrainConfig:
        try:
            return cls(**values)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            name = "--" + str(err["loc"][0]).replace("_", "-") if err["loc"] else "options"
            raise ConfigError(f"invalid {name}: {err['msg']} (got {err.get('input')!r})") from None

    @property
    def policy(self) -> ThresholdPolicy:
        return ThresholdPolicy(
            mode=self.threshold_mode, cost_ratio=self.cost_ratio, alert_rate=self.alert_rate
        )

    def xgb_params(self) -> dict[str, Any]:
        """Booster parameters; the class weight is not among them (see :func:`fit_matrix`)."""
        return {
            "objective": "binary:logistic",
            "eval_metric": "aucpr",
            "tree_method": "hist",
            "max_bin": 128,
            "learning_rate": self.learning_rate,
            "max_depth": self.max_depth,
            "min_child_weight": 1.0,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "seed": self.seed,
            "nthread": NTHREAD,
        }


@dataclass(frozen=True)
class Split:
    """Row masks of the three windows and their UTC day ranges (inclusive)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    ranges: dict[str, tuple[str, str]]


def time_split(event_time: pd.Series, config: TrainConfig) -> Split:
    """Split by UTC calendar day: [warmup | train | gap | val | gap | test]."""
    days = pd.to_datetime(event_time, utc=True).dt.floor("D")
    first = days.min()
    index = ((days - first).dt.days).to_numpy()
    total = int(index.max()) + 1
    test_start = total - config.test_days
    val_start = test_start - config.gap_days - config.val_days
    train_end = val_start - config.gap_days
    if train_end <= config.warmup_days:
        need = config.warmup_days + 1 + 2 * config.gap_days + config.val_days + config.test_days
        raise ConfigError(
            f"the data spans {total} days; this split needs at least {need} (simulate more --days)"
        )
    bounds = {"train": (config.warmup_days, train_end), "val": (val_start, test_start - config.gap_days)}
    bounds["test"] = (test_start, total)
    masks = {name: (index >= lo) & (index < hi) for name, (lo, hi) in bounds.items()}
    ranges = {
        name: (str((first + pd.Timedelta(days=lo)).date()), str((first + pd.Timedelta(days=hi - 1)).date()))
        for name, (lo, hi) in bounds.items()
    }
    return Split(train=masks["train"], val=masks["val"], test=masks["test"], ranges=ranges)


@dataclass
class TrainingResult:
    """A trained model, its evaluation and what the report plots."""

    model: FraudModel
    features: pd.DataFrame
    frame: pd.DataFrame
    split: Split
    val_scores: np.ndarray
    test_scores: np.ndarray
    evaluation: dict[str, Any]

    @property
    def test_frame(self) -> pd.DataFrame:
        return self.frame[self.split.test]


def code_version() -> str:
    """The git commit the code came from (``+dirty`` with local changes), else the package version.

    Git is asked from the package's own folder, so a checkout answers and a wheel install
    (no repository around it) falls back to the version.
    """
    package = str(resources.files("fraudstack"))
    try:
        commit = subprocess.run(
            ["git", "-C", package, "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", package, "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"fraudstack {metadata.version('fraudstack')}"
    return commit + ("+dirty" if dirty else "")


def train(dataset: Dataset, config: TrainConfig) -> TrainingResult:
    """Compute features, fit with early stopping, pick the threshold, evaluate on the test window.

    The delayed-label features see each label from its ``known_at`` on (the dataset's label
    events; without them ``label_delay_days`` after the transaction), as a deployed model would.
    """
    started = time.perf_counter()
    frame = dataset.frame
    delay = round(config.label_delay_days * DAY)
    features = compute_features(
        frame, label_events(frame, delay) if dataset.labels is None else dataset.labels
    )
    if config.card_only:
        features = features[[name for name in features.columns if name in CARD_FEATURE_NAMES]]
    names = tuple(features.columns)
    labels = frame[LABEL].to_numpy(dtype=bool)  # every eventual label: what the test is scored on
    split = time_split(frame["event_time"], config)
    known = known_labels(dataset, split, config)
    fit_labels = known.known if config.delayed_labels else labels
    for name in ("train", "val", "test"):
        mask = getattr(split, name)
        if (labels if name == "test" else fit_labels)[mask].sum() == 0:
            late = (
                f" known by {known.cutoff:%Y-%m-%d} (labels arrive late)"
                if name != "test" and labels[mask].any()
                else ""
            )
            raise ConfigError(
                f"the {name} window ({split.ranges[name][0]}..{split.ranges[name][1]}) has no fraud{late}; "
                "use more days of data"
            )
    values = features.to_numpy(dtype=np.float32)
    fit_rows = _fit_rows(fit_labels, split.train, config)
    dtrain = fit_matrix(values[fit_rows], fit_labels[fit_rows], names)
    dval = xgb.DMatrix(
        values[split.val], label=fit_labels[split.val], feature_names=list(names), nthread=NTHREAD
    )
    params = config.xgb_params()
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=config.max_rounds,
        evals=[(dval, "val")],
        early_stopping_rounds=config.early_stopping_rounds,
        verbose_eval=False,
    )
    booster = booster[: booster.best_iteration + 1]
    fit_seconds = time.perf_counter() - started

    model = FraudModel(booster=booster, features=names, threshold=0.5)
    val_scores = model.score(values[split.val])
    threshold = choose_threshold(fit_labels[split.val], val_scores, config.policy)
    model.threshold = threshold
    test_scores = model.score(values[split.test])
    evaluation = {
        name: evaluate(frame[mask], scores, threshold, config.k_per_day, config.alert_budget)
        for name, mask, scores in (("test", split.test, test_scores), ("validation", split.val, val_scores))
    }
    created = datetime.now(UTC)
    digest = hashlib.sha256(model_to_bytes(model)).hexdigest()[:8]
    model.version = f"{created:%Y%m%dT%H%M%SZ}-{digest}"
    model.manifest = {
        "version": model.version,
        "created_at": created.isoformat(),
        "code_version": code_version(),
        "feature_version": FEATURE_VERSION,
        "features": list(names),
        "dropped_features": dataset.dropped_features,
        "threshold": threshold,
        "threshold_policy": config.policy.describe(),
        "train_config": config.model_dump(),
        "xgb_params": params,
        "fraud_row_weight": float(dtrain.get_weight().max()),
        "best_iteration": int(booster.num_boosted_rounds()),
        "fit_seconds": round(fit_seconds, 2),
        "fit_rows": len(fit_rows),
        "data": {
            "source": dataset.source,
            "mapping": dataset.mapping,
            "rows": len(frame),
            "frauds": int(labels.sum()),
            "first_event": frame["event_time"].min().isoformat(),
            "last_event": frame["event_time"].max().isoformat(),
            "windows": {
                name: {"days": list(split.ranges[name]), "rows": int(getattr(split, name).sum())}
                for name in ("train", "val", "test")
            },
        },
        "metrics": _headline(evaluation["test"]),
        "labels": {"delayed": config.delayed_labels, **known.describe()},
        # What live traffic is compared with (fraudstack.model.drift says why these windows).
        "reference": drift.reference(features[split.val], test_scores),
    }
    return TrainingResult(
        model=model,
        features=features,
        frame=frame,
        split=split,
        val_scores=val_scores,
        test_scores=test_scores,
        evaluation=evaluation,
    )


def known_labels(dataset: Dataset, split: Split, config: TrainConfig) -> KnownLabels:
    """The frauds known at the test window's start, the moment the model would be deployed."""
    cutoff = pd.Timestamp(split.ranges["test"][0], tz="UTC")
    windows = {"train": split.train, "val": split.val}
    delay = timedelta(days=config.label_delay_days)
    return known_by(dataset.frame, windows, cutoff, dataset.labels, delay)


def fit_matrix(values: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> xgb.DMatrix:
    """The training DMatrix, each fraud row weighted ``legit rows / fraud rows`` (balanced classes).

    Why row weights and not ``scale_pos_weight`` (the same loss): ``hist`` trees split only at
    cut points of a quantile sketch taken once over the training rows, and the sketch counts a
    row by its weight. Unweighted, ``max_bin`` cuts follow the legitimate rows, so the highest
    amount cut sits near their 99th percentile and fraud far above it shares the top bin with
    legitimate spend: no tree can isolate it (measured in ``tests/model/test_extreme_amounts.py``
    and BENCHMARKS.md). Weighted, the fraud rows hold half the sketch's mass and get cuts of
    their own, at the same bin count and fit time.
    """
    positives = int(labels.sum())
    weight = np.where(labels, (len(labels) - positives) / positives, 1.0)
    return xgb.DMatrix(values, label=labels, weight=weight, feature_names=list(names), nthread=NTHREAD)


def _fit_rows(labels: np.ndarray, train: np.ndarray, config: TrainConfig) -> np.ndarray:
    """Training row indices: every fraud, a seeded ``legit_sample`` share of the legitimate rows.

    Why: legitimate rows outnumber fraud ~150:1 and are mostly alike; a quarter of them
    teaches the trees the same boundary in a quarter of the time (the remaining imbalance is
    handled by :func:`fit_matrix`'s class weights, and the threshold is chosen on untouched validation data).
    """
    rng = np.random.default_rng(config.seed)
    keep = train & (labels | (rng.random(len(labels)) < config.legit_sample))
    return np.flatnonzero(keep)


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The few test-window numbers the manifest carries (the report has all of them)."""
    keys = ("average_precision", "roc_auc", "precision", "recall", "f1", "recall_at_1pct_fpr", "alert_rate")
    return {key: metrics[key] for key in keys}
