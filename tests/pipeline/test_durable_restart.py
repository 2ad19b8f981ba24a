"""``make down`` then ``make up`` keeps the lake, the model registry and the warehouse.

Its own stack (it stops and starts the servers), driven like a user drives it: the real
declaration deployed, a small model released, simulated transactions landed as Firehose
objects and one ``pipeline run``; then ``stack down``, ``stack up`` and ``deploy`` through
the CLI, the new half of the transactions lands and ``pipeline run`` goes on from there,
reading the curated history and the model that the restart kept. No alert may be sent
again for a transaction alerted before the restart. Last, the lake loses the first half's
raw object: the next ``stack up`` removes what the warehouse loaded from it, and says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from fraudstack.aws import client
from fraudstack.embedded import EmbeddedStack
from fraudstack.pipeline import run_pipeline
from fraudstack.provisioning.local import deploy
from fraudstack.schema import event_to_json_bytes
from fraudstack.settings import Settings
from fraudstack.warehouse import connect, migrate
from tests.jobs.rawdata import put_objects
from tests.support.deployment import alert_ids, drain
from tests.support.stack import make_settings, new_state_dir

#: Spark job runs under the local Glue runner: minutes each on a loaded 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

STREAM = {"customers": 300, "days": 2, "fraud_rate": 0.03, "seed": 11}


def _fraudstack(settings: Settings, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "fraudstack", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **settings.subprocess_env()},
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, f"fraudstack {' '.join(args)}: {result.stderr}"
    return result.stdout


def _land(settings: Settings, events: list[dict[str, Any]], hour: int, stream: str) -> list[str]:
    return put_objects(
        client("s3", settings),
        settings.bucket,
        datetime(2026, 11, 7, hour, tzinfo=UTC),
        [[event_to_json_bytes(e) for e in events]],
        stream=stream,
    )


def _warehouse(settings: Settings) -> dict[str, Any]:
    """Row counts, and every alert with when it was sent."""
    with connect(settings) as wh:
        counts = {
            table: wh.query(f"SELECT count(*) FROM {table}")[0][0]
            for table in ("fact_transactions", "fraud_predictions", "fraud_alerts", "etl_runs", "etl_objects")
        }
        alerts = wh.query("SELECT transaction_id, status, sent_at FROM fraud_alerts ORDER BY transaction_id")
    return {**counts, "alerts": alerts}


def _release_small_model(settings: Settings) -> None:
    from fraudstack.model import data as datasets
    from fraudstack.model.release import release
    from fraudstack.model.training import TrainConfig, train

    result = train(
        datasets.simulated(customers=400, days=12, seed=5),
        TrainConfig.create(val_days=3, test_days=3, gap_days=1, warmup_days=2),
    )
    release(settings, result, settings.state_path / "models" / result.model.version, "always")


def test_down_up_keeps_lake_registry_and_warehouse_and_alerts_nothing_twice() -> None:
    from fraudstack.simulator import SimulationConfig, iter_events

    settings = make_settings(new_state_dir("fraudstack-restart-"))
    stack = EmbeddedStack(settings)
    events = list(iter_events(SimulationConfig.create(**STREAM)))
    half = len(events) // 2
    old, new = events[:half], events[half:]
    old_ids = {e["transaction_id"] for e in old}
    try:
        stack.up()
        deploy(settings)
        with connect(settings) as wh:
            migrate(wh)
        _release_small_model(settings)
        old_objects = _land(settings, old, 9, "before")
        first = run_pipeline(settings, timeout_seconds=900)
        assert first.succeeded, (first.error, first.cause)
        alerted_before = alert_ids(drain(settings, settings.alerts_tap_queue))
        assert alerted_before, "the model flags some of the first half"
        before = _warehouse(settings)
        assert before["fact_transactions"] == len(old)

        assert "stopped" in _fraudstack(settings, "stack", "down")
        up = _fraudstack(settings, "stack", "up")
        assert "topics start empty" in up  # the memory broker says what it could not keep
        assert "the lake no longer holds" not in up  # lake and warehouse agree: nothing to repair
        _fraudstack(settings, "deploy")
        assert _warehouse(settings) == before

        _land(settings, new, 10, "after")
        second = run_pipeline(settings, timeout_seconds=900)
        assert second.succeeded, (second.error, second.cause)
        after = _warehouse(settings)
        assert after["fact_transactions"] == len(events)
        assert after["fraud_predictions"] == len(events)
        assert [a for a in after["alerts"] if a[0] in old_ids] == before["alerts"]
        alerted_after = alert_ids(drain(settings, settings.alerts_tap_queue))
        assert not set(alerted_after) & old_ids, "an old transaction was alerted again"
        assert len(alerted_after) == len(set(alerted_after))

        s3 = client("s3", settings)
        s3.delete_objects(Bucket=settings.bucket, Delete={"Objects": [{"Key": k} for k in old_objects]})
        _fraudstack(settings, "stack", "down")
        repaired = _fraudstack(settings, "stack", "up")
        assert f"no longer holds {len(old_objects)} of the 2 raw objects" in repaired
        assert f"removed what came from them: {len(old):,} transactions" in repaired
        left = _warehouse(settings)
        assert left["fact_transactions"] == after["fact_transactions"] - len(old)
        assert left["fraud_predictions"] == after["fraud_predictions"] - len(old)
        assert not [a for a in left["alerts"] if a[0] in old_ids]
        assert (left["etl_runs"], left["etl_objects"]) == (1, 1)
        curated = s3.list_objects_v2(Bucket=settings.bucket, Prefix="curated/").get("Contents", [])
        assert curated, "the second run's curated Parquet stays"
    finally:
        stack.down()
