"""``fraudstack demo --drift`` on a small world: drift verdict, retraining, promotion, recovery.

The demo's own driver (:func:`fraudstack.cli.demo_drift.run_drift_demo`) on a stack of its
own (the driver deploys the whole declaration - real ETL, inference and drift jobs, the
retraining machine - and the session stack's pipeline tests deploy a stand-in inference
job), with fewer days and pipeline runs than the documented command: the days after the onset
must be measured broken, the retraining execution must run and its gate promote a new
version, and the promoted model must recall at least as much at the alert budget as the
champion did during the drift.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from fraudstack.cli.demo_drift import DriftDemoPlan, DriftDemoReport, run_drift_demo
from fraudstack.model import registry
from tests.support.stack import ephemeral_stack

#: Two pipeline runs (Spark under the local Glue runner) and a retraining execution.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

#: The demo's world and schedule, shorter and in two pipeline runs: one for the days before
#: and after the onset (day 6; recall before and during are read per day from
#: ``model_performance``, whatever run scored them), one after the retrain. The retrain trains
#: on days 2-9 and validates and tests on 10-12 and 13-15, after the onset: with 3 training
#: days (500 customers, onset day 4) its gate refused it (recall 0.056 vs the champion's 0.111).
SMALL = DriftDemoPlan(phases=((1, 15), (16, 18)), retrain_after=1)


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[DriftDemoReport, str]]:
    output = io.StringIO()
    with ephemeral_stack("fraudstack-drift-demo-") as running:
        report = run_drift_demo(running.settings, Console(file=output, width=120), SMALL)
        yield report, registry.current_version(running.settings) or ""


def test_drift_is_measured_broken_after_the_onset(demo: tuple[DriftDemoReport, str]) -> None:
    report, _ = demo
    assert report.broken, "nothing measured broken after the onset"
    assert all(psi >= 0.25 for _, psi in report.broken), report.broken


def test_the_retraining_gate_promotes_a_new_version(demo: tuple[DriftDemoReport, str]) -> None:
    report, current = demo
    assert report.retraining.startswith("drift-retrain-")
    assert report.challenger not in ("", report.champion)
    assert current == report.challenger
    assert report.gate_reason.startswith("promoted"), report.gate_reason


def test_recall_after_the_promotion_is_at_least_the_drifted_champions(
    demo: tuple[DriftDemoReport, str],
) -> None:
    report, _ = demo
    during, after = report.recall["during drift"], report.recall["after retrain"]
    assert report.frauds["during drift"] > 0 and report.frauds["after retrain"] > 0, report.frauds
    assert during is not None and after is not None
    assert after >= during, report.recall
