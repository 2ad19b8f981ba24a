"""The retraining state machine, executed locally end to end on a small warehouse.

The declared machine and job (``fraudstack/data/statemachine/retraining.asl.json``,
:mod:`fraudstack.jobs.retraining`) run on the emulator's Step Functions and Glue runner
against a scratch warehouse holding simulated facts and their label events. The first
execution, with no champion, must promote its challenger; the second, asked to train a
one-tree stump, must be refused by the gate against that champion on the same recent labelled
window, and the registry must say why.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from fraudstack.aws import client
from fraudstack.identity import caller_identity, pipeline_names
from fraudstack.model import registry
from fraudstack.model.retraining import key
from fraudstack.pipeline import PipelineRun, StateEvent, follow
from fraudstack.provisioning.declaration import declare
from fraudstack.provisioning.local import deploy
from fraudstack.settings import Settings
from fraudstack.simulator import SimulationConfig, iter_labelled_tables
from fraudstack.warehouse import connect
from tests.support.stack import RunningStack
from tests.support.star import load_events
from tests.support.warehouse import scratch_database

#: Small enough for seconds of training, with frauds known in every window (analyst verdicts).
SIMULATION = {"customers": 300, "days": 16, "fraud_rate": 0.03, "seed": 17}
TRAIN = {"warmup_days": 1, "val_days": 3, "test_days": 3, "max_rounds": 40, "early_stopping_rounds": 10}


@pytest.fixture(scope="module")
def retraining(stack: RunningStack) -> Iterator[Settings]:
    """The retraining job and machine deployed for a scratch warehouse and a registry of their own."""
    tag = uuid.uuid4().hex[:8]
    with scratch_database(stack.settings) as scratch:
        settings = scratch.model_copy(
            update={"bucket": f"retrain-{tag}", "artifacts_bucket": f"retrain-art-{tag}"}
        )
        client("s3", settings).create_bucket(Bucket=settings.artifacts_bucket)
        declared = declare(settings)
        pipeline = declared.pipeline
        assert settings.warehouse_dsn is not None
        # The job's settings travel as job arguments, as the template passes them on AWS.
        job = dataclasses.replace(
            pipeline.retraining,
            default_arguments=(
                ("--FRAUDSTACK_ARTIFACTS_BUCKET", settings.artifacts_bucket),
                ("--FRAUDSTACK_WAREHOUSE_DSN", settings.warehouse_dsn.get_secret_value()),
            ),
        )
        deploy(
            settings,
            (
                declared.ops,  # where a failed step is reported
                pipeline.retraining_role,
                job,
                pipeline.retraining_machine_role,
                pipeline.retraining_machine,
            ),
        )
        tables, label_tables = zip(*iter_labelled_tables(SimulationConfig.create(**SIMULATION)), strict=True)
        labels = pa.concat_tables(label_tables).to_pandas()
        with connect(settings) as wh:
            load_events(wh, pa.concat_tables(tables).to_pandas())
            wh.upsert(
                "fact_labels",
                list(
                    labels[["transaction_id", "source", "is_fraud", "known_at"]]
                    .astype(object)
                    .itertuples(False)
                ),
                columns=("transaction_id", "source", "is_fraud", "known_at"),
            )
        yield settings


def _execute(settings: Settings, payload: dict[str, Any]) -> tuple[PipelineRun, list[StateEvent]]:
    arn = caller_identity(settings).arn(
        "states", f"stateMachine:{pipeline_names(settings).retraining_machine}"
    )
    name = f"retrain-{uuid.uuid4().hex[:8]}"
    started = client("stepfunctions", settings).start_execution(
        stateMachineArn=arn, name=name, input=json.dumps(payload)
    )
    events: list[StateEvent] = []
    run = follow(settings, PipelineRun(name, started["executionArn"]), events.append, timeout_seconds=900)
    return run, events


def _decision(settings: Settings, run: PipelineRun) -> dict[str, Any]:
    """The registry's last event of the execution's challenger: its promotion or refusal."""
    body = client("s3", settings).get_object(
        Bucket=settings.artifacts_bucket, Key=key(run.name, "challenger.json")
    )
    version = json.loads(body["Body"].read())["version"]
    event: dict[str, Any] = registry.history(settings, version)[-1]
    assert event["by"] == f"retraining state machine ({run.name})"
    return event


def test_retraining_promotes_then_refuses_a_worse_challenger(retraining: Settings) -> None:
    settings = retraining
    first, events = _execute(settings, {"train": TRAIN})
    assert first.succeeded, [e for e in events if e.kind == "failed"]
    entered = [e.state for e in events if e.kind == "entered"]
    assert entered == ["BuildTrainingSet", "TrainChallenger", "EvaluateAndRelease"]
    promoted = _decision(settings, first)
    assert promoted["action"] == "promote" and promoted["previous"] is None
    assert registry.current_version(settings) == promoted["version"]

    stump = {**TRAIN, "max_rounds": 1, "max_depth": 1}
    second, events = _execute(settings, {"train": stump})
    assert second.succeeded, [e for e in events if e.kind == "failed"]
    refused = _decision(settings, second)
    assert refused["action"] == "refuse" and refused["reason"].startswith("refused"), refused
    assert refused["champion"] == promoted["version"]
    assert registry.current_version(settings) == promoted["version"]  # the champion stays
    # both models were judged on the same window: the champion's figures are recorded
    assert refused["gate"]["champion"] is not None
