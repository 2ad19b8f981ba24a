"""The Glue-job adapter: job arguments, and settings passed as arguments (Glue has no env)."""

from __future__ import annotations

import pytest

from fraudstack.errors import ConfigError
from fraudstack.gluejob import glue_job, parse_args


def test_parse_args_reads_glue_style_arguments() -> None:
    argv = ["script.py", "--JOB_NAME", "etl", "--input=s3://lake/raw/", "--extra", "x"]
    assert parse_args(["JOB_NAME", "input"], argv) == {"JOB_NAME": "etl", "input": "s3://lake/raw/"}


def test_missing_argument_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--JOB_NAME"):
        parse_args(["JOB_NAME"], ["script.py"])


def test_settings_passed_as_job_arguments_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUDSTACK_BUCKET", "from-environment")
    monkeypatch.setenv("AWS_REGION", "us-east-1")  # so monkeypatch restores what the job sets
    argv = [
        "script.py",
        "--JOB_NAME",
        "etl",
        "--FRAUDSTACK_BUCKET",
        "from-arguments",
        "--AWS_REGION",
        "eu-west-1",
    ]
    with glue_job(["JOB_NAME"], argv) as job:
        assert job.settings.bucket == "from-arguments"
        assert job.settings.aws_region == "eu-west-1"
