"""The declaration as deployed, no stand-ins: real ETL, real ML inference with a trained model.

Simulated transactions (realistic histories, so the model has something to find) land as
Firehose objects; the pipeline must alert exactly the transactions the inference job
flagged (``review``/``decline``), each once. (Reruns are covered with the stand-in job in
``test_end_to_end.py``, where the expected alerts are known from the labels.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from fraudstack.aws import client
from fraudstack.model.registry import current_version
from fraudstack.pipeline import PipelineRun, run_pipeline
from fraudstack.provisioning.local import deploy
from fraudstack.schema import event_to_json_bytes
from fraudstack.settings import Settings
from fraudstack.warehouse import connect
from tests.jobs.rawdata import put_objects
from tests.support.deployment import alert_ids, declaration, drain

#: Spark job runs under the local Glue runner: minutes each on a loaded 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


STREAM = {"customers": 300, "days": 2, "fraud_rate": 0.03, "seed": 11}


@pytest.fixture(scope="module")
def real_jobs(deployed: Settings) -> Iterator[Settings]:
    """The plain declaration, and a small model made current; the stand-in is restored after."""
    from fraudstack.model import data as datasets
    from fraudstack.model.release import release
    from fraudstack.model.training import TrainConfig, train

    deploy(deployed)
    result = train(
        datasets.simulated(customers=400, days=12, seed=5),
        TrainConfig.create(val_days=3, test_days=3, gap_days=1, warmup_days=2),
    )
    release(deployed, result, deployed.state_path / "models" / result.model.version, "always")
    yield deployed
    deploy(deployed, declaration(deployed))


def _flagged(settings: Settings, ids: list[str]) -> set[str]:
    with connect(settings) as wh:
        rows = wh.query(
            "SELECT transaction_id FROM fraud_predictions "
            "WHERE transaction_id = ANY(%s) AND decision IN ('review', 'decline')",
            (ids,),
        )
    return {str(r[0]) for r in rows}


def test_pipeline_alerts_exactly_what_the_model_flagged(real_jobs: Settings) -> None:
    from fraudstack.simulator import SimulationConfig, iter_events

    settings = real_jobs
    events = list(iter_events(SimulationConfig.create(**STREAM)))
    ids = [e["transaction_id"] for e in events]
    put_objects(
        client("s3", settings),
        settings.bucket,
        datetime(2026, 11, 7, 9, tzinfo=UTC),
        [[event_to_json_bytes(e) for e in events]],
        stream="realjobs",
    )
    drain(settings, settings.alerts_tap_queue)

    first: PipelineRun = run_pipeline(settings, timeout_seconds=900)
    assert first.succeeded, (first.error, first.cause)
    flagged = _flagged(settings, ids)
    alerted = alert_ids(drain(settings, settings.alerts_tap_queue))
    assert flagged, "the model flags some of the simulated fraud"
    assert sorted(t for t in alerted if t in set(ids)) == sorted(flagged)
    assert len(alerted) == len(set(alerted))
    # the drift step measured the day up to the newest transaction against the current model
    with connect(settings) as wh:
        measured = wh.query(
            "SELECT count(*) FROM model_drift WHERE model_version = %s "
            "AND window_end > (SELECT max(event_ts) FROM fact_transactions)",
            (current_version(settings),),
        )[0][0]
    assert measured > 0
