"""``fraudstack demo --drift``: the monitoring and retraining loop, from a drift onset to a recovery.

The same stack, deployment, stream and pipeline as ``fraudstack demo`` (reused from
:mod:`fraudstack.cli.demo`), over a simulated world that changes on a known day
(:data:`SCHEDULE`: every amount x1.5, which moves the ``amount`` PSI past 0.25, and three
times the card-testing incidents, which moves no PSI but lowers recall - BENCHMARKS.md,
*Which drift schedules move the drift figures*):

1. a champion trained as ``fraudstack demo`` trains it (a separate simulated world);
2. the days before the onset, then the days from it, each phase streamed through Kafka ->
   bridge -> Kinesis -> Firehose -> S3 with the label events known by its end, then one
   pipeline run (ETL, inference, alerts, ``MeasureDrift``: ``model_drift`` and
   ``model_performance``);
3. the drift verdict of the pipeline's last window: the ``model_drift`` rows' ``broken``
   status. That is what the local stack evaluates: the emulator stores the CloudWatch
   metrics the step publishes but evaluates no alarm, and the drift alarms (and the
   EventBridge rule on their state that starts retraining) exist only in the AWS template.
   So the demo starts the retraining state machine itself when a feature or the score is
   broken - the execution the rule would start on AWS;
4. the retraining execution (build, train, evaluate through the gate, promote);
5. more drifted days scored by the promoted challenger;
6. recall at the alert budget per phase from ``model_performance`` (delayed labels, read
   as the dashboard's *Model health* view charts them).

Simulated days run at full speed in event time; the pipeline measures on its own clock (the
newest transaction loaded), so a day of traffic takes seconds.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fraudstack.aws import client
from fraudstack.cli.demo import (
    DemoReport,
    _finish_training,
    _start_training,
    demo_settings,
    start_stack,
    stream,
)
from fraudstack.cli.pipeline import print_event, print_outcome
from fraudstack.errors import FraudstackError
from fraudstack.identity import caller_identity, pipeline_names
from fraudstack.model.retraining import key
from fraudstack.pipeline import PipelineRun, follow, run_pipeline
from fraudstack.provisioning.local import deploy, format_change
from fraudstack.settings import Settings
from fraudstack.warehouse import connect

#: The drift: from the onset day every amount x1.5 (fires the feature drift check) and three
#: times the card-testing incidents (a fraud pattern the champion saw little of).
SCHEDULE = "amount x1.5; card_testing x3"


@dataclass(frozen=True)
class DriftDemoPlan:
    """The simulated world and how its days are cut into pipeline runs.

    ``phases`` are inclusive day ranges (counted from 1); those before ``retrain_after``
    (an index into ``phases``) are scored by the champion, the rest by whatever the
    retraining promoted. ``train`` is the retraining execution's ``TrainConfig`` input,
    sized so that its validation and test windows fall after the onset (a validation
    window before it would make the gate's drift check refuse the retrain).
    """

    customers: int = 800
    #: Frauds enough that a day's recall at the budget rests on dozens of known labels (a
    #: third of frauds get an analyst's verdict within hours; chargebacks take ~12 days).
    fraud_rate: float = 0.03
    start: date = date(2025, 4, 1)
    seed: int = 19
    onset_day: int = 6
    phases: tuple[tuple[int, int], ...] = ((1, 5), (6, 15), (16, 21))
    retrain_after: int = 2
    train: dict[str, Any] = field(
        default_factory=lambda: {"warmup_days": 1, "val_days": 3, "test_days": 3, "gap_days": 0}
    )

    @property
    def days(self) -> int:
        return self.phases[-1][1]

    @property
    def drift(self) -> str:
        return "; ".join(f"day {self.onset_day}: {event.strip()}" for event in SCHEDULE.split(";"))

    def day_start(self, day: int) -> datetime:
        """00:00 UTC of simulated day ``day`` (counted from 1, as the drift schedule counts)."""
        midnight = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)
        return midnight + timedelta(days=day - 1)


@dataclass
class DriftDemoReport:
    """What the drift demo did, for the closing summary and the benchmark figures."""

    demo: DemoReport = field(default_factory=DemoReport)
    champion: str = ""
    challenger: str = ""
    broken: list[tuple[str, float]] = field(default_factory=list)
    retraining: str = ""
    gate_reason: str = ""
    onset_wall: float = 0.0
    promoted_wall: float = 0.0
    recovered_wall: float = 0.0
    recall: dict[str, float | None] = field(default_factory=dict)
    frauds: dict[str, int] = field(default_factory=dict)


def _days(plan: DriftDemoPlan) -> Iterator[tuple[int, pa.Table, pa.Table]]:
    """Each simulated day (from 1) with its transactions and its label events."""
    from fraudstack.simulator import SimulationConfig, iter_labelled_tables

    config = SimulationConfig.create(
        customers=plan.customers,
        days=plan.days,
        start=plan.start,
        fraud_rate=plan.fraud_rate,
        seed=plan.seed,
        drift=plan.drift,
    )
    for day, (table, labels) in enumerate(iter_labelled_tables(config), start=1):
        yield day, table, labels


class _Phases:
    """The world's days cut into the plan's phases; label events held until they are known.

    A label event is streamed with the first phase whose end is after its ``known_at``, as
    chargebacks and analyst verdicts would arrive; those known after the last phase never are.
    """

    def __init__(self, plan: DriftDemoPlan) -> None:
        self._plan = plan
        self._days = _days(plan)
        self._held: list[dict[str, Any]] = []

    def next(self, first: int, last: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        from fraudstack.simulator.assemble import table_to_events

        events: list[dict[str, Any]] = []
        for day, table, labels in self._days:
            events.extend(table_to_events(table))
            self._held.extend(labels.to_pylist())
            if day == last:
                break
        del first  # the iterator is already there: phases are consecutive
        end = self._plan.day_start(last + 1)
        known = [label for label in self._held if label["known_at"] < end]
        self._held = [label for label in self._held if label["known_at"] >= end]
        return events, known


def _broken(settings: Settings) -> list[tuple[str, float]]:
    """The broken metrics (PSI >= 0.25) of the newest window the pipeline's drift step measured."""
    with connect(settings) as wh:
        rows = wh.query(
            "SELECT metric, psi FROM model_drift WHERE status = 'broken' AND window_end = "
            "(SELECT max(window_end) FROM model_drift) ORDER BY psi DESC"
        )
    return [(str(metric), float(psi)) for metric, psi in rows]


def _retrain(settings: Settings, plan: DriftDemoPlan, console: Console) -> PipelineRun:
    """Start and follow one execution of the retraining machine, as the drift rule starts it."""
    machine = pipeline_names(settings).retraining_machine
    arn = caller_identity(settings).arn("states", f"stateMachine:{machine}")
    name = f"drift-retrain-{uuid.uuid4().hex[:8]}"
    started = client("stepfunctions", settings).start_execution(
        stateMachineArn=arn, name=name, input=json.dumps({"train": plan.train})
    )
    run = follow(
        settings,
        PipelineRun(name, started["executionArn"]),
        lambda event: print_event(console, event),
        timeout_seconds=900,
    )
    if not run.succeeded:
        raise FraudstackError(f"retraining {run.name} failed: {run.error}: {run.cause}")
    return run


def recall_by_phase(
    settings: Settings, plan: DriftDemoPlan, champion: str, challenger: str
) -> tuple[dict[str, float | None], dict[str, int]]:
    """Recall at the alert budget before the onset, during the drift and after the retrain.

    From ``model_performance`` (labels known within 7 days of each transaction, as of the
    newest transaction loaded): each phase's days of the model that scored them, the days'
    recall weighted by their labelled frauds.
    """
    retrained_from = plan.day_start(plan.phases[plan.retrain_after][0])
    periods = {
        "before drift": (champion, plan.day_start(1), plan.day_start(plan.onset_day)),
        "during drift": (champion, plan.day_start(plan.onset_day), retrained_from),
        "after retrain": (challenger, retrained_from, plan.day_start(plan.days + 1)),
    }
    recall: dict[str, float | None] = {}
    frauds: dict[str, int] = {}
    with connect(settings) as wh:
        for label, (version, since, until) in periods.items():
            (caught, known), *_ = wh.query(
                "SELECT sum(recall_at_budget * frauds), sum(frauds) FROM model_performance "
                "WHERE model_version = %s AND window_start >= %s AND window_start < %s "
                "AND recall_at_budget IS NOT NULL",
                (version, since, until),
            )
            frauds[label] = int(known or 0)
            recall[label] = float(caught) / float(known) if known else None
    return recall, frauds


def _phase_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} days"),
        TimeElapsedColumn(),
        console=console,
    )


def run_drift_demo(
    settings: Settings, console: Console, plan: DriftDemoPlan | None = None
) -> DriftDemoReport:
    """Every step in order on the embedded stack (started when not running); returns what happened."""
    from fraudstack.model.registry import current_version, history

    plan = plan or DriftDemoPlan()
    settings = demo_settings(settings)
    report = DriftDemoReport()
    started = time.monotonic()
    console.rule("[bold]start the stack and deploy")
    start_stack(settings, console)
    for change in deploy(settings):
        if change.outcome.value != "unchanged" or change.detail:
            console.print(format_change(change))
    console.rule("[bold]train the champion")
    report.champion = _finish_training(settings, console, _start_training(settings))
    phases = _Phases(plan)
    with _phase_progress(console) as progress:
        task = progress.add_task("simulated days", total=plan.days)
        for index, (first, last) in enumerate(plan.phases):
            if index == plan.retrain_after:
                report.broken = _broken(settings)
                if not report.broken:
                    raise FraudstackError(
                        "no drift measured broken after the onset: retraining was not triggered"
                    )
                shown = ", ".join(f"{metric} PSI {psi:.3f}" for metric, psi in report.broken)
                console.print(f"[bold red]drift: broken[/] {shown}; starting the retraining state machine")
                run = _retrain(settings, plan, console)
                report.retraining = run.name
                body = client("s3", settings).get_object(
                    Bucket=settings.artifacts_bucket, Key=key(run.name, "challenger.json")
                )
                report.challenger = str(json.loads(body["Body"].read())["version"])
                event = history(settings, report.challenger)[-1]
                report.gate_reason = str(event["reason"])
                if current_version(settings) != report.challenger:
                    raise FraudstackError(f"the gate kept the champion: {report.gate_reason}")
                report.promoted_wall = time.monotonic() - started
                console.print(f"[bold green]promoted {report.challenger}[/]: {report.gate_reason}")
            if first <= plan.onset_day <= last:  # the wall clock of the onset: its phase's start
                report.onset_wall = time.monotonic() - started
            drifted = " (drifted)" if last >= plan.onset_day else ""
            progress.update(task, description=f"days {first}-{last}{drifted}")
            events, labels = phases.next(first, last)
            stream(settings, console, report.demo, events, labels)
            run = run_pipeline(settings, lambda event: print_event(console, event), timeout_seconds=900)
            report.demo.runs.append(run)
            print_outcome(console, run)
            if not run.succeeded:
                raise FraudstackError(f"pipeline run {run.name} failed: {run.error}: {run.cause}")
            progress.update(task, completed=last)
    report.recovered_wall = time.monotonic() - started
    report.recall, report.frauds = recall_by_phase(settings, plan, report.champion, report.challenger)
    return report


def summary_table(report: DriftDemoReport) -> Table:
    table = Table(title="recall at the alert budget (top 0.5 % of each day), delayed labels")
    for column in ("period", "model", "labelled frauds", "recall"):
        table.add_column(column, justify="left" if column in ("period", "model") else "right")
    for period, value in report.recall.items():
        model = report.challenger if period == "after retrain" else report.champion
        table.add_row(period, model, f"{report.frauds[period]:,}", "-" if value is None else f"{value:.3f}")
    return table


def print_drift_summary(console: Console, report: DriftDemoReport, total: float) -> None:
    console.rule("[bold]summary")
    console.print(summary_table(report))
    console.print(
        f"drift verdict: {', '.join(f'{m} {p:.3f}' for m, p in report.broken)} (model_drift, broken)\n"
        f"retraining execution {report.retraining}: {report.gate_reason}\n"
        f"onset streamed at {report.onset_wall:.0f}s, challenger promoted at {report.promoted_wall:.0f}s, "
        f"recovered days scored by {report.recovered_wall:.0f}s\n"
        "see it: fraudstack dashboard, then the Model health view (?view=health); "
        "fraudstack model show for the gate's figures"
    )
    console.print(f"[bold]drift demo finished in {total:.0f}s[/]")
