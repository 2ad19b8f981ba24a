"""``fraudstack demo``: the whole system from nothing, on simulated data, in a few minutes.

Steps, each reusing the component a user would run by hand:

1. ``stack up`` - Kafka, the AWS emulator and PostgreSQL (skipped when already running);
2. ``deploy`` - every declared resource, with a short Firehose buffer so data lands quickly;
3. stream - simulated transactions (a few days of event time, at full speed) through the
   producer -> Kafka -> bridge (a real subprocess) -> Kinesis -> Firehose -> S3 ``raw/``,
   until every one of them is in the lake; meanwhile ``train`` a small, fast model, only
   when the registry has no current one;
4. ``pipeline run`` - until alerts have been sent (ETL, inference, alert Lambda);
5. a summary read back from the warehouse and the emulator, and where to look next.

The command (and ``make demo``) prints a summary, where to look, and the total time. It lives
in the CLI package because it is a walk through the commands (it reuses ``pipeline run``'s
printing), not a component of its own.

Why sizes are small: the demo must finish in under five minutes on a 2-core machine, and
two Spark jobs dominate that; the simulated world is sized to give a few dozen frauds.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fraudstack.aws import client
from fraudstack.cli.pipeline import print_event, print_outcome
from fraudstack.embedded import EmbeddedStack
from fraudstack.errors import ConfigError, FraudstackError
from fraudstack.ingestion.producer import produce_events
from fraudstack.kafka.topics import ensure_topics
from fraudstack.pipeline import PipelineRun, StateEvent, run_pipeline
from fraudstack.provisioning.local import deploy, format_change
from fraudstack.settings import Settings, load_settings
from fraudstack.warehouse import connect

#: The simulated stream: a world and window that give a few thousand transactions, ~1% fraud.
STREAM: dict[str, object] = {"customers": 1_500, "days": 3, "start": date(2025, 3, 1), "fraud_rate": 0.01}
STREAM_SEED = 2026
#: A small ``fraudstack train`` run: enough days for a time split, few customers: seconds.
TRAINING_ARGS = (
    *("--customers", "600", "--days", "14", "--val-days", "3", "--test-days", "3"),
    *("--gap-days", "1", "--warmup-days", "2"),
)
FIREHOSE_BUFFER_SECONDS = 2
#: How long the stream waits for more of its records to land beyond the Firehose buffer
#: interval before it gives up (a stalled bridge, Kinesis or Firehose).
LANDING_PATIENCE_S = 60.0
#: Pipeline runs before giving up on seeing alerts (the first normally sends them).
MAX_RUNS = 2


@dataclass
class DemoReport:
    """What the demo did, for the closing summary."""

    produced: int = 0
    lake_records: int = 0
    model: str = ""
    runs: list[PipelineRun] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def demo_settings(settings: Settings) -> Settings:
    """The user's settings with a short Firehose buffer, so streamed data lands in seconds."""
    return settings.model_copy(update={"firehose_buffer_seconds": FIREHOSE_BUFFER_SECONDS})


@contextmanager
def _step(console: Console, report: DemoReport, title: str) -> Iterator[None]:
    console.rule(f"[bold]{title}")
    started = time.monotonic()
    with console.status(title):
        yield
    report.timings[title] = time.monotonic() - started
    console.print(f"[dim]{title}: {report.timings[title]:.1f}s[/]")


def start_stack(settings: Settings, console: Console) -> None:
    started, running, _ = EmbeddedStack(settings).up()
    console.print(
        f"started {', '.join(started) or 'nothing'}; already running {', '.join(running) or 'none'}"
    )


def _start_training(settings: Settings) -> subprocess.Popen[bytes]:
    """``fraudstack train`` on a small simulated world, promoted at once, as a subprocess.

    A process, not a thread: training is CPU-bound Python and would starve the producer's
    loop of the GIL while both run.
    """
    log = (settings.state_path / "logs" / "demo-train.log").open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "fraudstack", "train", *TRAINING_ARGS, "--promote", "always"],
            env={**os.environ, **settings.subprocess_env()},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()


def _finish_training(settings: Settings, console: Console, training: subprocess.Popen[bytes]) -> str:
    """Wait for the training process; print its headline; the model version it published."""
    from fraudstack.model.registry import current_version

    log = settings.state_path / "logs" / "demo-train.log"
    if training.wait() != 0:
        raise FraudstackError(f"training failed (exit {training.returncode}); see {log}")
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(("published", "promoted", "test window")):
            console.print(line)
    return str(current_version(settings))


class _Lake:
    """This run's transactions as they land under ``raw/``, counted by transaction id.

    By id, not by line: a used stack holds earlier runs' objects, and the bridge and
    Firehose deliver at least once. Objects are immutable once written, so each is read once.
    """

    def __init__(self, settings: Settings, prefix: str | None = None) -> None:
        self._s3 = client("s3", settings)
        self._bucket, self._prefix = settings.bucket, prefix or settings.raw_prefix
        self._read = set(self._keys())  # earlier runs' objects: never this run's records
        self.earlier_objects = len(self._read)
        self.landed: set[str] = set()

    def _keys(self) -> Iterator[str]:
        for page in self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=self._prefix
        ):
            for obj in page.get("Contents", []):
                yield obj["Key"]

    def count(self, ids: set[str]) -> int:
        """How many of ``ids`` are in the lake, reading only objects not read before."""
        for key in self._keys():
            if key in self._read:
                continue
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
            for line in (gzip.decompress(body) if key.endswith(".gz") else body).splitlines():
                transaction_id = json.loads(line).get("transaction_id")
                if transaction_id in ids:
                    self.landed.add(transaction_id)
            self._read.add(key)
        return len(self.landed)


def _buffer_interval(settings: Settings) -> float:
    """The live delivery stream's buffer interval: how long Firehose may hold a record."""
    description = client("firehose", settings).describe_delivery_stream(
        DeliveryStreamName=settings.firehose_stream
    )["DeliveryStreamDescription"]
    destination = description["Destinations"][0]["ExtendedS3DestinationDescription"]
    return float(destination["BufferingHints"]["IntervalInSeconds"])


def _start_bridge(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """``fraudstack bridge`` as a subprocess (as a user runs it), its output appended to ``log``.

    Without ``--exit-when-idle``: the stream stops it once its records are in the lake, so
    how long Firehose buffers them never outlasts the bridge.
    """
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fraudstack", "bridge", "--linger", "0.1"],
            env={**os.environ, **settings.subprocess_env(), "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _log_tail(log: Path, start: int, lines: int = 15) -> str:
    """The last ``lines`` lines written to ``log`` from byte ``start`` on (this run's part)."""
    with log.open("rb") as text:
        text.seek(start)
        written = text.read().decode("utf-8", errors="replace").splitlines()
    return "\n".join(written[-lines:])


def stream(
    settings: Settings,
    console: Console,
    report: DemoReport,
    events: Iterable[dict[str, Any]] | None = None,
    labels: Sequence[dict[str, Any]] = (),
) -> None:
    """Simulated transactions (and label events) through Kafka, the bridge, Kinesis and Firehose into S3.

    ``events`` defaults to the demo's own simulated world (:data:`STREAM`); the drift demo
    passes its days. Done when every transaction this run produced is under ``raw/`` and
    every labelled transaction under ``labels/``, however long the deployed Firehose buffer
    holds them. A bridge that exits non-zero fails the stream with its log; one that exits 0
    (stopped from outside) is not a failure in itself: what it forwarded still lands, and
    anything it left behind shows as a stall.
    """
    from fraudstack.simulator import SimulationConfig, iter_events

    ensure_topics(settings)
    lake = _Lake(settings)
    label_lake = _Lake(settings, settings.labels_prefix)
    labelled = {str(label["transaction_id"]) for label in labels}
    log = settings.state_path / "logs" / "demo-bridge.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log_start = log.stat().st_size if log.exists() else 0
    bridge = _start_bridge(settings, log)
    try:
        # A rerun on a used stack streams new transactions (the seed names them), not redeliveries.
        if events is None:
            config = SimulationConfig.create(**{**STREAM, "seed": STREAM_SEED + lake.earlier_objects})
            events = iter_events(config)
        ids: set[str] = set()

        def remembered(events: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            for event in events:
                ids.add(event["transaction_id"])
                yield event

        summary = produce_events(settings, remembered(events))
        if summary.failed:
            raise FraudstackError(
                f"{summary.failed} transactions could not be produced: {summary.errors[:3]}"
            )
        report.produced += summary.sent
        console.print(f"produced {summary.sent:,} transactions to Kafka ({summary.rate:,.0f}/s)")
        if labels:
            sent = produce_events(settings, labels, topic=settings.topic_labels, key_field="transaction_id")
            if sent.failed:
                raise FraudstackError(f"{sent.failed} label events could not be produced: {sent.errors[:3]}")
            console.print(f"produced {sent.sent:,} label events to Kafka")
        patience = _buffer_interval(settings) + LANDING_PATIENCE_S
        landed, progressed = 0, time.monotonic()
        while landed < len(ids) or label_lake.count(labelled) < len(labelled):
            if bridge.returncode is None and bridge.poll() is not None:
                if bridge.returncode != 0:
                    raise FraudstackError(
                        f"the bridge exited ({bridge.returncode}); {log}:\n{_log_tail(log, log_start)}"
                    )
                console.print("the bridge stopped (exit 0); waiting for what it forwarded")
            if (now_landed := lake.count(ids)) > landed:
                landed, progressed = now_landed, time.monotonic()
                console.print(f"[dim]{landed:,} of {len(ids):,} in the lake[/]")
            elif time.monotonic() - progressed > patience:
                raise FraudstackError(
                    f"only {landed:,} of {len(ids):,} transactions reached s3://{settings.bucket}/"
                    f"{settings.raw_prefix}, none more in {patience:.0f}s; see {log} and "
                    f"{settings.state_path / 'logs' / 'aws.log'}"
                )
            else:
                time.sleep(1.0)
        report.lake_records += landed
        console.print(f"{landed:,} transactions in s3://{settings.bucket}/{settings.raw_prefix}")
    finally:
        bridge.terminate()
        bridge.wait(30)


def run_until_alerts(settings: Settings, console: Console, report: DemoReport) -> None:
    def show(event: StateEvent) -> None:
        print_event(console, event)

    for _ in range(MAX_RUNS):
        run = run_pipeline(settings, show, timeout_seconds=600)
        report.runs.append(run)
        print_outcome(console, run)
        if not run.succeeded:
            raise FraudstackError(f"pipeline run {run.name} failed: {run.error}: {run.cause}")
        if run.alerts_sent:
            return


def summary_tables(settings: Settings) -> list[Table]:
    """Warehouse totals, and the alerted transactions by labelled fraud type."""
    with connect(settings) as wh:
        facts, predictions, flagged = wh.query(
            "SELECT (SELECT count(*) FROM fact_transactions), (SELECT count(*) FROM fraud_predictions), "
            "(SELECT count(*) FROM fraud_predictions WHERE decision <> 'approve')"
        )[0]
        by_type = wh.query(
            "SELECT coalesce(f.fraud_type, 'not fraud (false alarm)'), count(a.transaction_id), "
            "sum(CASE WHEN a.status = 'sent' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN f.is_fraud THEN 1 ELSE 0 END) "
            "FROM fact_transactions AS f LEFT JOIN fraud_alerts AS a ON a.transaction_id = f.transaction_id "
            "WHERE f.is_fraud OR a.transaction_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"
        )
        frauds = sum(int(labelled) for *_, labelled in by_type)
    totals = Table(title="warehouse", show_header=False)
    for label, value in (
        ("transactions ingested", facts),
        ("labelled fraud among them", frauds),
        ("predictions", predictions),
        ("flagged (review/decline)", flagged),
    ):
        totals.add_row(label, f"{value:,}")
    caught = Table(title="frauds caught, by labelled type (labels are for scoring the demo only)")
    for column in ("type", "labelled", "alerted", "e-mailed"):
        caught.add_column(column, justify="left" if column == "type" else "right")
    for kind, count, sent, labelled in by_type:
        shown = f"{labelled:,}" if labelled else "-"
        caught.add_row(str(kind).replace("_", " "), shown, f"{count:,}", f"{sent or 0:,}")
    return [totals, caught]


def where_to_look(settings: Settings) -> str:
    queue = client("sqs", settings).get_queue_url(QueueName=settings.alerts_tap_queue)["QueueUrl"]
    sent = client("ses", settings).get_send_quota()["SentLast24Hours"]
    endpoint = settings.aws_endpoint_url
    return (
        f"SES: {sent:.0f} alert e-mail(s) sent "
        f"(aws --endpoint-url {endpoint} ses get-send-quota)\n"
        f"SNS alerts topic, tapped by an SQS queue: aws --endpoint-url {endpoint} sqs receive-message "
        f"--queue-url {queue} --max-number-of-messages 10\n"
        f"alert rows: fraud_alerts in the warehouse ({settings.warehouse_url().split('@')[-1]})\n"
        f"pipeline metrics: aws --endpoint-url {endpoint} cloudwatch list-metrics "
        f"--namespace {settings.metrics_namespace}\n"
        f"dashboard: fraudstack dashboard, then open http://localhost:{settings.dashboard_port}\n"
        "run again: fraudstack pipeline run   |   stop everything: fraudstack stack down"
    )


def run_demo(settings: Settings, console: Console) -> DemoReport:
    """Every step in order; returns what happened (the CLI prints the summary).

    When no model is current, ``fraudstack train`` runs beside the stream (which mostly waits
    on Kafka, Kinesis and the Firehose buffer), saving most of its time.
    """
    from fraudstack.model.registry import current_version

    settings = demo_settings(settings)
    report = DemoReport()
    with _step(console, report, "1/4 start the stack"):
        start_stack(settings, console)
    with _step(console, report, "2/4 deploy"):
        for change in deploy(settings):
            if change.outcome.value != "unchanged" or change.detail:
                console.print(format_change(change))
    current = current_version(settings)
    title = "3/4 stream transactions" + ("" if current else ", train a model meanwhile")
    with _step(console, report, title):
        training = None if current else _start_training(settings)
        try:
            stream(settings, console, report)
        except BaseException:
            if training is not None:
                training.kill()
            raise
        if training is None:
            console.print(f"current model: {current} (kept)")
            report.model = str(current)
        else:
            report.model = _finish_training(settings, console, training)
    with _step(console, report, "4/4 pipeline"):
        run_until_alerts(settings, console, report)
    return report


def print_summary(settings: Settings, console: Console, report: DemoReport, total: float) -> None:
    console.rule("[bold]summary")
    for table in summary_tables(settings):
        console.print(table)
    sent = sum(run.alerts_sent for run in report.runs)
    console.print(
        f"streamed {report.produced:,} transactions ({report.lake_records:,} in the lake), "
        f"model {report.model}, {len(report.runs)} pipeline run(s), {sent} alert(s) sent"
    )
    console.print(where_to_look(settings))
    console.print(
        f"[bold]demo finished in {total:.0f}s[/] "
        + json.dumps({k: round(v) for k, v in report.timings.items()})
    )


def demo_command(
    drift: Annotated[
        bool,
        typer.Option(
            "--drift",
            help="the model loop instead: drift onset, drift verdict, retraining, promotion, recovery",
        ),
    ] = False,
) -> None:
    """Run the full pipeline end to end on simulated data and print where to look."""
    started = time.monotonic()
    settings = load_settings()
    if settings.target != "embedded":
        raise ConfigError("`fraudstack demo` runs on the embedded stack (unset FRAUDSTACK_TARGET)")
    console = Console()
    if drift:
        from fraudstack.cli.demo_drift import print_drift_summary, run_drift_demo

        print_drift_summary(console, run_drift_demo(settings, console), time.monotonic() - started)
        return
    report = run_demo(settings, console)
    print_summary(settings, console, report, time.monotonic() - started)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the ``fraudstack`` command."""
    app.command("demo")(demo_command)
