"""The scorer's own drift: PSI of what it scored equals the batch measure, published as the pipeline's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from fraudstack.aws import client
from fraudstack.ingestion.producer import produce_events
from fraudstack.model.drift import CALENDAR_FEATURES, measure
from fraudstack.model.fraud_model import FraudModel
from tests.scoring.conftest import DecisionReader, ScorerRun, batch_reference
from tests.support import wait_until
from tests.support.simulated import stream_events


def test_an_amount_shift_reads_as_drift_in_the_scorer_and_reaches_the_drift_alarm_metrics(
    run: ScorerRun, tiny_model: FraudModel
) -> None:
    settings = run.settings.model_copy(
        update={
            "scorer_drift_seconds": 1.0,
            "scorer_drift_min_rows": 100,
            # Its own namespace: the figures read back are this scorer's alone.
            "metrics_namespace": f"fraudstack-drift-{uuid.uuid4().hex[:8]}",
        }
    )
    run.settings = settings
    events = [
        {**e, "amount": round(e["amount"] * 4, 2)} for e in stream_events(customers=200, days=3, seed=23)
    ]
    run.start()
    produce_events(settings, events)
    reader = DecisionReader(settings, settings.topic_decisions)
    reader.wait_for({e["transaction_id"] for e in events}, timeout=120)
    reader.close()

    def window_of_every_event() -> dict[str, Any] | None:
        lines = [line for line in run.log_lines() if line["msg"] == "stream drift"]
        return next((line for line in lines if line["rows"] == len(events)), None)

    logged = wait_until(window_of_every_event, timeout=60, what="a stream drift window of every event")

    ref = tiny_model.manifest["reference"]
    monitored = {
        n: h for n, h in ref["features"].items() if n in tiny_model.features and n not in CALENDAR_FEATURES
    }
    batch = batch_reference(tiny_model, events)
    expected = measure({"features": monitored, "score": ref["score"]}, batch, batch["score"].to_numpy())
    assert logged["model_version"] == tiny_model.version
    assert set(logged["features"]) == set(expected.features)
    for name, psi in expected.features.items():
        assert logged["features"][name] == pytest.approx(psi, abs=1e-9), name
    assert logged["score_psi"] == pytest.approx(expected.score, abs=1e-6)
    assert "amount" in logged["broken"], logged["features"]

    cloudwatch = client("cloudwatch", settings)

    def highest_published() -> float | None:
        points = cloudwatch.get_metric_statistics(
            Namespace=settings.metrics_namespace,
            MetricName="MaxFeaturePSI",
            Dimensions=[{"Name": "Service", "Value": "drift"}],
            StartTime="2000-01-01T00:00:00Z",
            EndTime="2100-01-01T00:00:00Z",
            Period=86400,
            Statistics=["Maximum"],
        )["Datapoints"]
        return max((p["Maximum"] for p in points), default=None)

    highest = wait_until(highest_published, timeout=30, what="MaxFeaturePSI (Service=drift) in CloudWatch")
    assert highest >= 0.25
