"""The whole declaration deployed on the session stack, and what reads the alerts it sends.

Shared by the pipeline and the alert-handler (tests/lambda_) tests. The ML inference job is
a TEST-ONLY stand-in script (``tests/pipeline/standin_inference_job.py``: no Spark, no model,
a score known in advance for each transaction, so the alerts are exact); everything else is
what ``fraudstack deploy`` deploys.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fraudstack.aws import client
from fraudstack.provisioning.declaration import Declaration, declare
from fraudstack.provisioning.local import deploy
from fraudstack.settings import Settings
from fraudstack.warehouse import Warehouse, connect, migrate
from tests.support.stack import RunningStack

STANDIN_INFERENCE = Path(__file__).resolve().parents[1] / "pipeline" / "standin_inference_job.py"


def declaration(settings: Settings, *, inference_fails: bool = False) -> Declaration:
    """``declare(settings)`` with the stand-in inference script (failing on request)."""
    declared = declare(settings)
    inference = dataclasses.replace(
        declared.pipeline.inference,
        script=STANDIN_INFERENCE,
        default_arguments=(("--fail", "yes"),) if inference_fails else (),
    )
    return dataclasses.replace(declared, pipeline=dataclasses.replace(declared.pipeline, inference=inference))


@pytest.fixture(scope="session")
def deployed(stack: RunningStack) -> Settings:
    """The pipeline deployed on the session stack, with the warehouse schema in place."""
    settings = stack.settings
    deploy(settings, declaration(settings))
    with connect(settings) as wh:
        migrate(wh)
    return settings


@pytest.fixture
def warehouse(deployed: Settings) -> Iterator[Warehouse]:
    with connect(deployed) as wh:
        yield wh


def emails_sent(settings: Settings) -> int:
    """Messages x recipients the emulated SES has sent so far.

    moto's ``/moto-api/data.json`` would show the bodies, but in moto 5.2.5 it answers 500 as
    soon as a Lambda function exists (serialising the function touches its Docker client);
    SES's own quota counter is the outbox view that keeps working.
    """
    return int(client("ses", settings).get_send_quota()["SentLast24Hours"])


def drain(settings: Settings, queue: str) -> list[dict[str, Any]]:
    """Receive and delete every message on a tap queue; returns the SNS notifications."""
    sqs = client("sqs", settings)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def alert_ids(notifications: list[dict[str, Any]]) -> list[str]:
    """The transaction ids of alert notifications (one per SNS message, repeats kept)."""
    return [json.loads(n["Message"])["transaction_id"] for n in notifications]
