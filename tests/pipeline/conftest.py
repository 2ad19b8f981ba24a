"""Fixtures for the pipeline tests: the whole declaration deployed on the session stack
(:mod:`tests.support.deployment`, shared with the alert-handler tests) and raw batches.

The ML inference job runs a TEST-ONLY stand-in script (``standin_inference_job.py``: no
Spark, no model, a score known in advance for each transaction, so the alerts are exact);
everything else is what ``fraudstack deploy`` deploys: the real ETL script, the alert Lambda
zip, the state machine from ``fraudstack/data/statemachine/``. ``test_real_jobs.py`` runs the real inference
job.

Resource names are the session settings' own, because the Glue scripts read their settings
from the emulator's environment (the session's), exactly as a deployed job would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fraudstack.aws import client
from fraudstack.settings import Settings
from tests.jobs.rawdata import lines, put_objects
from tests.support.deployment import deployed, warehouse

__all__ = ["deployed", "warehouse"]  # the fixtures every pipeline test builds on


def put_batch(settings: Settings, tag: str, count: int, hour: datetime) -> set[str]:
    """One Firehose-format raw object of ``count`` events; returns the ids labelled fraud."""
    batch = lines(tag, count, seed=sum(map(ord, tag)))
    put_objects(client("s3", settings), settings.bucket, hour, [batch], stream=tag)
    return {e["transaction_id"] for e in map(json.loads, batch) if e["is_fraud"]}


def hour(day: int) -> datetime:
    return datetime(2026, 11, day, 10, tzinfo=UTC)
