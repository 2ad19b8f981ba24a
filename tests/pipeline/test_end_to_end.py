"""The real state machine over real data: raw S3 -> ETL -> inference -> alerts by SNS and SES.

One module-scoped scenario (each run starts Spark): batch A, a rerun with nothing new
(through the ``fraudstack pipeline run`` CLI, as a user runs it), then batch B. Alerts are
read where a user would look: the SQS queue subscribed to the alerts topic and SES's
sent-mail counter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass

import pytest

from fraudstack.aws import client
from fraudstack.pipeline import PipelineRun, StateEvent, run_pipeline
from fraudstack.settings import Settings
from fraudstack.warehouse import connect
from tests.pipeline.conftest import hour, put_batch
from tests.support.deployment import alert_ids, drain, emails_sent

#: Spark job runs under the local Glue runner: minutes each on a loaded 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


EVENTS_PER_BATCH = 300


@dataclass
class Observed:
    """One pipeline run and what reached the user because of it."""

    run: PipelineRun | None
    alerted: list[str]
    emails: int
    events: list[StateEvent]


@dataclass
class Scenario:
    frauds_a: set[str]
    frauds_b: set[str]
    first: Observed
    rerun: Observed
    rerun_cli: subprocess.CompletedProcess[str]
    second: Observed


def _observe(settings: Settings) -> Observed:
    before = emails_sent(settings)
    events: list[StateEvent] = []
    run = run_pipeline(settings, events.append, timeout_seconds=900)
    return Observed(
        run, alert_ids(drain(settings, settings.alerts_tap_queue)), emails_sent(settings) - before, events
    )


@pytest.fixture(scope="module")
def scenario(deployed: Settings) -> Scenario:
    tag = uuid.uuid4().hex[:6]
    drain(deployed, deployed.alerts_tap_queue)
    frauds_a = put_batch(deployed, f"e2ea{tag}", EVENTS_PER_BATCH, hour(5))
    first = _observe(deployed)

    before = emails_sent(deployed)
    cli = subprocess.run(
        [sys.executable, "-m", "fraudstack", "pipeline", "run", "--timeout", "900"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=960,
        check=False,
    )
    rerun = Observed(
        None, alert_ids(drain(deployed, deployed.alerts_tap_queue)), emails_sent(deployed) - before, []
    )

    frauds_b = put_batch(deployed, f"e2eb{tag}", EVENTS_PER_BATCH, hour(6))
    second = _observe(deployed)
    return Scenario(frauds_a, frauds_b, first, rerun, cli, second)


def test_first_run_alerts_every_fraud_of_the_batch_once(scenario: Scenario) -> None:
    first = scenario.first
    assert first.run is not None and first.run.succeeded, (first.run, first.events)
    assert scenario.frauds_a, "the batch holds labelled fraud"
    assert sorted(t for t in first.alerted if t in scenario.frauds_a) == sorted(scenario.frauds_a)
    assert len(first.alerted) == len(set(first.alerted)), "no transaction alerted twice"
    assert first.emails >= 1
    assert first.run.alerts_sent == len(first.alerted)
    states = [e.state for e in first.events if e.kind == "entered"]
    assert states == [
        "RunDataCleaningJob",
        "RunMLInferenceJob",
        "CheckForNewFraud",
        "DispatchAlerts",
        "SendAlerts",
        "MeasureDrift",
    ]


def test_rerun_with_nothing_new_sends_nothing(scenario: Scenario) -> None:
    cli = scenario.rerun_cli
    assert cli.returncode == 0, cli.stdout + cli.stderr
    states = ("RunDataCleaningJob", "RunMLInferenceJob", "CheckForNewFraud", "NoNewFraud", "MeasureDrift")
    for state in states:
        assert state in cli.stdout, cli.stdout
    assert "succeeded" in cli.stdout and "0 new fraud alert(s) found" in cli.stdout
    assert scenario.rerun.alerted == [] and scenario.rerun.emails == 0


def test_new_batch_alerts_only_its_own_frauds(scenario: Scenario) -> None:
    second = scenario.second
    assert second.run is not None and second.run.succeeded
    assert sorted(t for t in second.alerted if t in scenario.frauds_b) == sorted(scenario.frauds_b)
    assert not set(second.alerted) & scenario.frauds_a
    assert second.emails >= 1


def test_warehouse_records_every_alert_as_sent(scenario: Scenario, deployed: Settings) -> None:
    ids = sorted(scenario.frauds_a | scenario.frauds_b)
    with connect(deployed) as wh:
        rows = wh.query(
            "SELECT transaction_id, status, channel FROM fraud_alerts WHERE transaction_id = ANY(%s)", (ids,)
        )
    assert sorted(r[0] for r in rows) == ids
    assert {(r[1], r[2]) for r in rows} == {("sent", "sns+email")}


def test_each_run_publishes_its_metrics(scenario: Scenario, deployed: Settings) -> None:
    listed = client("cloudwatch", deployed).list_metrics(
        Namespace=deployed.metrics_namespace, Dimensions=[{"Name": "Service", "Value": "pipeline"}]
    )
    names = {m["MetricName"] for m in listed["Metrics"]}
    assert {
        "PipelineRuns",
        "RowsProcessed",
        "FraudsFound",
        "AlertsSent",
        "RunDataCleaningJobDuration",
    } <= names
