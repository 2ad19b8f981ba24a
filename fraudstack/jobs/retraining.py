"""Glue retraining job: one step of the retraining state machine per run (``--step``).

``--step build|train|release`` with ``--run_id`` (the execution's name, which
keys the step's files under ``retraining/<run_id>/`` in the artifacts bucket) and
``--input`` (the execution's input as JSON: optional ``train`` - TrainConfig fields - ,
``gate`` - GatePolicy fields - and ``days`` of history). The steps are
:mod:`fraudstack.model.retraining`; this script only dispatches, so the same code runs
under the local Glue runner and on Glue 5.0. No Spark: a retrain reads weeks of one
pipeline's facts, which pandas and XGBoost handle on one worker (docs/model-lifecycle.md,
*Retraining*).
"""

from __future__ import annotations

import json

from fraudstack.errors import ConfigError
from fraudstack.gluejob import glue_job
from fraudstack.model.gate import GatePolicy
from fraudstack.model.retraining import (
    DEFAULT_DAYS,
    build_training_set,
    evaluate_and_release,
    train_challenger,
)
from fraudstack.model.training import TrainConfig

STEPS = ("build", "train", "release")


def main() -> None:
    """Glue entry point: ``--JOB_NAME --step --run_id --input``; the rest is settings."""
    with glue_job(["JOB_NAME", "step", "run_id", "input"]) as job:
        step, run = job.args["step"], job.args["run_id"]
        given = json.loads(job.args["input"] or "{}")
        settings = job.settings
        if step == "build":
            built = build_training_set(settings, run, int(given.get("days", DEFAULT_DAYS)))
            print(f"training set: {built}")
        elif step == "train":
            config = TrainConfig.create(**given.get("train", {}))
            print(f"challenger: {train_challenger(settings, run, config)}")
        elif step == "release":
            policy = GatePolicy(**given["gate"]) if "gate" in given else None
            print(f"gate: {evaluate_and_release(settings, run, policy).reason}")
        else:
            raise ConfigError(f"--step {step!r}: choose one of {', '.join(STEPS)}")
