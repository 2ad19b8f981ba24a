"""Run the fraud pipeline's state machine and follow it, state by state; publish its metrics.

Why follow the execution history rather than poll the status: the history says which state
entered and left when, with its output or error, so ``fraudstack pipeline run`` can print
each state as it happens and the per-state durations come from the service's own clock.

Every execution gets a name (``run-<UTC time>-<random>``): moto's Step Functions needs one,
and on AWS a name makes a run findable and a retried start idempotent.

Metrics (namespace ``settings.metrics_namespace``, dimension ``Service=pipeline``): runs,
failures, rows processed by the ETL, predictions written, frauds found, alerts sent, and the
duration of every state (``<State>Duration``, milliseconds).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fraudstack.aws import client
from fraudstack.errors import FraudstackError
from fraudstack.identity import Identity, pipeline_names
from fraudstack.observability import MetricsPublisher
from fraudstack.settings import Settings
from fraudstack.warehouse import connect

_TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


@dataclass(frozen=True)
class StateEvent:
    """One thing a state did: ``entered``, ``exited`` (with what it added) or ``failed``."""

    kind: str
    state: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None


@dataclass
class PipelineRun:
    """A finished (or abandoned) execution: its states in order and its final output."""

    name: str
    execution_arn: str
    status: str = "RUNNING"
    started: datetime | None = None
    stopped: datetime | None = None
    durations: dict[str, float] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cause: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def seconds(self) -> float:
        if self.started is None or self.stopped is None:
            return 0.0
        return (self.stopped - self.started).total_seconds()

    @property
    def frauds_found(self) -> int:
        return int(self.output.get("check", {}).get("pending", 0))

    @property
    def alerts_sent(self) -> int:
        return int(self.output.get("alerts", {}).get("alerts_sent", 0))


def state_machine_arn(settings: Settings) -> str:
    """The deployed pipeline's ARN (from the account the credentials reach)."""
    account = client("sts", settings).get_caller_identity()["Account"]
    partition = "aws-cn" if settings.aws_region.startswith("cn-") else "aws"
    identity = Identity(account_id=account, partition=partition, region=settings.aws_region)
    return identity.arn("states", f"stateMachine:{pipeline_names(settings).state_machine}")


def execution_name() -> str:
    return f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def start(settings: Settings, name: str | None = None, payload: dict[str, Any] | None = None) -> PipelineRun:
    """Start a named execution of the deployed pipeline."""
    sfn = client("stepfunctions", settings)
    name = name or execution_name()
    try:
        arn = sfn.start_execution(
            stateMachineArn=state_machine_arn(settings), name=name, input=json.dumps(payload or {})
        )["executionArn"]
    except sfn.exceptions.StateMachineDoesNotExist:
        raise FraudstackError("the pipeline state machine is not deployed: run `fraudstack deploy`") from None
    return PipelineRun(name=name, execution_arn=arn)


def _added(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a state put into the execution's JSON (its ResultPath)."""
    return {k: v for k, v in after.items() if before.get(k) != v}


class _History:
    """Turns the execution history into :class:`StateEvent` values, oldest first.

    Each poll reads the whole history (a pipeline run has a few dozen events) and converts
    it from the start, so the caller simply emits the events it has not emitted yet.
    """

    def __init__(self, sfn: Any, run: PipelineRun) -> None:
        self._sfn = sfn
        self._run = run
        self._entered: dict[str, tuple[datetime, dict[str, Any]]] = {}

    def poll(self) -> list[StateEvent]:
        self._entered = {}
        events: list[StateEvent] = []
        pages = self._sfn.get_paginator("get_execution_history").paginate(
            executionArn=self._run.execution_arn
        )
        for page in pages:
            for raw in page["events"]:
                events.extend(self._convert(raw))
        return events

    def _convert(self, raw: dict[str, Any]) -> list[StateEvent]:
        at: datetime = raw["timestamp"]
        if "stateEnteredEventDetails" in raw:
            details = raw["stateEnteredEventDetails"]
            self._entered[details["name"]] = (at, json.loads(details.get("input") or "{}"))
            return [StateEvent("entered", details["name"], at)]
        if "stateExitedEventDetails" in raw:
            details = raw["stateExitedEventDetails"]
            entered_at, before = self._entered.get(details["name"], (at, {}))
            seconds = (at - entered_at).total_seconds()
            self._run.durations[details["name"]] = seconds
            added = _added(before, json.loads(details.get("output") or "{}"))
            return [StateEvent("exited", details["name"], at, added, seconds)]
        if "taskFailedEventDetails" in raw:
            details = raw["taskFailedEventDetails"]
            state = next(reversed(self._entered), "")
            return [
                StateEvent(
                    "failed", state, at, {"error": details.get("error"), "cause": details.get("cause")}
                )
            ]
        return []


def follow(
    settings: Settings,
    run: PipelineRun,
    on_event: Callable[[StateEvent], None] | None = None,
    poll_seconds: float = 1.0,
    timeout_seconds: float = 1800.0,
) -> PipelineRun:
    """Wait for ``run`` to finish, calling ``on_event`` for each state event as it happens."""
    sfn = client("stepfunctions", settings)
    history = _History(sfn, run)
    deadline = time.monotonic() + timeout_seconds
    emitted = 0
    while True:
        described = sfn.describe_execution(executionArn=run.execution_arn)
        events = history.poll()  # after describe: a terminal status means the history is complete
        for event in events[emitted:]:
            if on_event is not None:
                on_event(event)
        emitted = len(events)
        if described["status"] in _TERMINAL:
            break
        if time.monotonic() > deadline:
            raise FraudstackError(f"pipeline run {run.name} still running after {timeout_seconds:.0f}s")
        time.sleep(poll_seconds)
    run.status = described["status"]
    run.started, run.stopped = described.get("startDate"), described.get("stopDate")
    run.output = json.loads(described.get("output") or "{}")
    run.error, run.cause = described.get("error"), described.get("cause")
    return run


def _warehouse_counts(settings: Settings, run: PipelineRun) -> tuple[int, int]:
    """(rows the ETL read, predictions written) during the run, from the warehouse's own records."""
    with connect(settings) as wh:
        rows = wh.query(
            "SELECT coalesce(sum(rows_read), 0) FROM etl_runs WHERE finished_at BETWEEN %s AND %s",
            (run.started, run.stopped),
        )[0][0]
        predictions = wh.query(
            "SELECT count(*) FROM fraud_predictions WHERE scored_at BETWEEN %s AND %s",
            (run.started, run.stopped),
        )[0][0]
    return int(rows), int(predictions)


def publish_metrics(settings: Settings, run: PipelineRun) -> dict[str, float]:
    """Send the run's metrics to CloudWatch; returns the counters it sent."""
    rows, predictions = _warehouse_counts(settings, run) if run.started and run.stopped else (0, 0)
    with MetricsPublisher(settings, "pipeline") as metrics:
        metrics.count("PipelineRuns")
        metrics.count("PipelineFailures", 0 if run.succeeded else 1)
        metrics.count("RowsProcessed", rows)
        metrics.count("PredictionsWritten", predictions)
        metrics.count("FraudsFound", run.frauds_found)
        metrics.count("AlertsSent", run.alerts_sent)
        metrics.observe("PipelineDuration", run.seconds * 1000.0)
        for state, seconds in run.durations.items():
            metrics.observe(f"{state}Duration", seconds * 1000.0)
        return dict(metrics.totals)


def run_pipeline(
    settings: Settings,
    on_event: Callable[[StateEvent], None] | None = None,
    name: str | None = None,
    timeout_seconds: float = 1800.0,
) -> PipelineRun:
    """Start one execution, follow it to the end and publish its metrics."""
    run = follow(settings, start(settings, name), on_event, timeout_seconds=timeout_seconds)
    publish_metrics(settings, run)
    return run
