"""The settings each AWS runtime really receives, read the way that runtime reads them.

Locally every process inherits one environment, so a setting the template forgets to pass
goes unnoticed until the first real run. Here each Glue job's settings are built from its
rendered ``DefaultArguments`` exactly as :class:`fraudstack.gluejob.GlueJob` builds them on
Glue, with CloudFormation intrinsics standing in for the values AWS fills in, and checked
against what the job's code path needs on the aws target.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from fraudstack.gluejob import GlueJob
from fraudstack.settings import Settings
from fraudstack.warehouse.connection import copy_role_for


def _resolved(value: Any) -> str:
    """A CloudFormation value as the runtime sees it: literal, or a marker naming the intrinsic."""
    if isinstance(value, str):
        return value
    return f"<{json.dumps(value, sort_keys=True)}>"


def _job_settings(job: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings as GlueJob builds them from the job's arguments (no inherited FRAUDSTACK_* environment)."""
    import os

    for name in list(os.environ):
        if name.startswith(("FRAUDSTACK_", "AWS_", "KAFKA_")):
            monkeypatch.delenv(name)
    argv = ["job.py"]
    for key, value in job["Properties"].get("DefaultArguments", {}).items():
        argv.extend([key, _resolved(value)])
        monkeypatch.setenv(key.removeprefix("--"), "")  # restored after the test: GlueJob exports them
    return GlueJob({}, argv).settings


def _glue_jobs(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Glue::Job"}


def test_every_glue_job_gets_what_its_warehouse_load_needs(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = _glue_jobs(template)
    assert len(jobs) >= 2, sorted(jobs)
    for logical_id, job in jobs.items():
        with monkeypatch.context() as patch:
            settings = _job_settings(job, patch)
            assert settings.target == "aws", logical_id
            assert settings.aws_region == _resolved({"Ref": "AWS::Region"}), (
                f"{logical_id}: AWS_REGION does not reach the job"
            )
            # The check the Redshift COPY runs before every load (ETL facts, inference predictions).
            assert copy_role_for(settings), logical_id
