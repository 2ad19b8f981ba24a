"""The retraining state machine's steps: build, train, then evaluate, gate and release.

Each step is one run of the retraining Glue job (:mod:`fraudstack.jobs.retraining`) with
``--step NAME`` (the same code locally under the Glue runner and on AWS), and hands its
result to the next through the artifacts bucket under ``retraining/<execution>/``: a Glue
run returns no value to Step Functions, and S3 is what every step can already reach. For the
same reason the gate's promote-or-refuse is taken in the evaluation step and recorded in the
registry's history, not branched on in the state machine (docs/model-lifecycle.md,
*Retraining state machine*).

Why the training set comes from the warehouse rather than the lake: the facts there are
the cleaned, de-duplicated transactions, and ``fact_labels`` holds each label with the time
it became known, so the set holds exactly what was known at the cut-off (the newest
transaction): a fraud counts only if a fraud verdict was known by then.
"""

from __future__ import annotations

import io
import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from fraudstack.aws import client
from fraudstack.drift import STAR_NAMES, STAR_SELECT, latest_event
from fraudstack.errors import FraudstackError
from fraudstack.model import registry
from fraudstack.model.data import Dataset, _dropped
from fraudstack.model.drift import measure
from fraudstack.model.gate import GateDecision, GatePolicy, decide
from fraudstack.model.training import TrainConfig, train
from fraudstack.settings import Settings
from fraudstack.warehouse import connect

PREFIX = "retraining/"
#: How much history a retrain reads by default: train, validation and test windows with room.
DEFAULT_DAYS = 28
_LABELS = """
SELECT l.transaction_id, l.is_fraud, l.known_at, l.source FROM fact_labels AS l
JOIN fact_transactions AS f ON f.transaction_id = l.transaction_id
WHERE f.event_ts >= %s AND f.event_ts < %s AND l.known_at < %s
"""
#: Columns of the evaluation window beside its features (no feature name starts with ``window_``).
_TRUTH, _AMOUNT = "window_is_fraud", "window_amount"


def key(run: str, name: str) -> str:
    """Where a step of execution ``run`` leaves ``name`` in the artifacts bucket."""
    return f"{PREFIX}{run}/{name}"


def _put(settings: Settings, run: str, name: str, body: bytes) -> None:
    client("s3", settings).put_object(Bucket=settings.artifacts_bucket, Key=key(run, name), Body=body)


def _get(settings: Settings, run: str, name: str) -> bytes:
    try:
        response = client("s3", settings).get_object(Bucket=settings.artifacts_bucket, Key=key(run, name))
    except client("s3", settings).exceptions.NoSuchKey:
        raise FraudstackError(f"retraining {run}: {name} is missing (did the step before it run?)") from None
    body: bytes = response["Body"].read()
    return body


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def build_training_set(settings: Settings, run: str, days: int = DEFAULT_DAYS) -> dict[str, Any]:
    """The last ``days`` of facts and the labels known by the cut-off, written for the train step."""
    newest = latest_event(settings)
    if newest is None:
        raise FraudstackError("the warehouse holds no transaction to train on")
    cutoff = newest + timedelta(microseconds=1)
    since = cutoff - timedelta(days=days)
    with connect(settings) as wh:
        rows = wh.query(STAR_SELECT + "WHERE f.event_ts >= %s AND f.event_ts < %s", (since, cutoff))
        labels = pd.DataFrame(
            wh.query(_LABELS, (since, cutoff, cutoff)),
            columns=["transaction_id", "is_fraud", "known_at", "source"],
        )
    frame = pd.DataFrame(rows, columns=list(STAR_NAMES))
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
    frame["amount"] = frame["amount"].astype(float)
    labels["known_at"] = pd.to_datetime(labels["known_at"], utc=True)
    frauds = set(labels.loc[labels["is_fraud"].astype(bool), "transaction_id"])
    frame["is_fraud"] = frame["transaction_id"].isin(frauds)
    _put(settings, run, "transactions.parquet", _parquet(frame))
    _put(settings, run, "labels.parquet", _parquet(labels))
    built = {"cutoff": cutoff.isoformat(), "rows": len(frame), "frauds_known": int(frame["is_fraud"].sum())}
    _put(settings, run, "training-set.json", json.dumps(built).encode())
    return built


def _dataset(settings: Settings, run: str) -> Dataset:
    frame = pd.read_parquet(io.BytesIO(_get(settings, run, "transactions.parquet")))
    labels = pd.read_parquet(io.BytesIO(_get(settings, run, "labels.parquet")))
    built = json.loads(_get(settings, run, "training-set.json"))
    frame = frame.sort_values("event_time", kind="stable").reset_index(drop=True)
    source = f"warehouse: facts and labels known by {built['cutoff']} (retraining {run})"
    return Dataset(frame=frame, source=source, dropped_features=_dropped(set(frame.columns)), labels=labels)


def train_challenger(settings: Settings, run: str, config: TrainConfig) -> str:
    """Train on the built set, publish the challenger (not current) and keep its test window.

    The test window - the set's most recent labelled days, which the challenger never saw -
    is what the evaluation scores both models on.
    """
    result = train(_dataset(settings, run), config)
    with tempfile.TemporaryDirectory() as directory:
        registry.save_local(result.model, Path(directory))
        registry.publish(settings, Path(directory))
    window = result.features[result.split.test].reset_index(drop=True)
    window[_TRUTH] = result.test_frame["is_fraud"].to_numpy(dtype=bool)
    window[_AMOUNT] = result.test_frame["amount"].astype(float).to_numpy()
    _put(settings, run, "test-window.parquet", _parquet(window))
    _put(settings, run, "challenger.json", json.dumps({"version": result.model.version}).encode())
    return result.model.version


def evaluate_and_release(settings: Settings, run: str, policy: GatePolicy | None = None) -> GateDecision:
    """Challenger and champion on the same window, through the gate; promote or record the refusal.

    The decision, its reason and both models' figures go into the registry's history
    (``by: retraining state machine (<run>)``), where ``fraudstack model show`` reads them.
    """
    version = json.loads(_get(settings, run, "challenger.json"))["version"]
    challenger = registry.load_model(settings, version)
    window = pd.read_parquet(io.BytesIO(_get(settings, run, "test-window.parquet")))
    features = window.drop(columns=[_TRUTH, _AMOUNT])
    champion = registry.current_version(settings)
    theirs = None
    if champion is not None:
        current = registry.load_model(settings, champion)
        if set(current.features) <= set(features.columns):
            theirs = current.score(features[list(current.features)])
    budget = float(challenger.manifest["train_config"]["alert_budget"])
    decision = decide(
        window[_TRUTH].to_numpy(dtype=bool),
        window[_AMOUNT].to_numpy(dtype=float),
        challenger.score(features),
        theirs,
        measure(challenger.manifest["reference"], features).features,
        policy or GatePolicy(alert_budget=budget),
    )
    by = f"retraining state machine ({run})"
    if decision.promote:
        registry.set_current(settings, version, decision.reason, by=by, gate=decision.as_dict())
    else:
        registry.record(
            settings, "refuse", version, decision.reason, champion=champion, by=by, gate=decision.as_dict()
        )
    return decision
