"""A thin Glue-job adapter: arguments, Spark and commit, the same on Glue and locally.

Why: ``awsglue`` exists only inside Glue. The jobs in :mod:`fraudstack.jobs` use this module instead, so
each is written once: on Glue it delegates to ``getResolvedOptions`` and ``awsglue.job.Job``
(bookmarks, commit); locally it parses the same ``--KEY value`` arguments and commit is a
no-op (job bookmarks are not emulated). Spark starts only when a script asks for it, so
jobs without Spark do not pay the JVM start.

Usage::

    with glue_job(["JOB_NAME", "input"]) as job:
        df = job.spark.read.parquet(job.args["input"])
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from fraudstack.errors import ConfigError
from fraudstack.settings import Settings, load_settings
from fraudstack.spark import on_glue, spark_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


#: Job arguments with these prefixes are settings: Glue jobs have no environment of their own,
#: so the template passes the settings contract as ``--FRAUDSTACK_BUCKET value`` arguments.
SETTING_ARGUMENT_PREFIXES = ("FRAUDSTACK_", "KAFKA_", "AWS_REGION")


def _all_arguments(argv: Sequence[str]) -> dict[str, str]:
    """Every ``--KEY value`` / ``--KEY=value`` pair in ``argv`` (Glue's argument form)."""
    given: dict[str, str] = {}
    tokens = iter(argv[1:])
    for token in tokens:
        if not token.startswith("--"):
            continue
        key, sep, value = token[2:].partition("=")
        given[key] = value if sep else next(tokens, "")
    return given


def parse_args(names: Sequence[str], argv: Sequence[str] | None = None) -> dict[str, str]:
    """The values of the ``--NAME value`` job arguments ``names`` (all required, as on Glue)."""
    argv = list(sys.argv if argv is None else argv)
    if on_glue():
        from awsglue.utils import getResolvedOptions

        return dict(getResolvedOptions(argv, list(names)))
    given = _all_arguments(argv)
    missing = [n for n in names if n not in given]
    if missing:
        raise ConfigError(f"missing job arguments: {', '.join('--' + m for m in missing)}")
    return {n: given[n] for n in names}


class GlueJob:
    """One job run: its resolved arguments, settings and a lazily started SparkSession."""

    def __init__(self, args: dict[str, str], argv: Sequence[str]) -> None:
        self.args = args
        self._argv = list(argv)
        self._glue_job: Any = None

    @cached_property
    def settings(self) -> Settings:
        """The settings for this run: the environment plus any settings passed as job arguments.

        Job arguments win: on Glue they are the only source (the template renders them from
        the same contract the containers get as environment variables).
        """
        passed = {
            key: value
            for key, value in _all_arguments(self._argv).items()
            if key.startswith(SETTING_ARGUMENT_PREFIXES)
        }
        os.environ.update(passed)
        return load_settings()

    @cached_property
    def spark(self) -> SparkSession:
        session = spark_session(self.args.get("JOB_NAME", "fraudstack-job"))
        if on_glue():
            from awsglue.context import GlueContext
            from awsglue.job import Job

            self._glue_job = Job(GlueContext(session.sparkContext))
            self._glue_job.init(self.args.get("JOB_NAME", ""), self.args)
        return session

    def commit(self) -> None:
        """Commit the run (job bookmarks on Glue; nothing to record locally)."""
        if self._glue_job is not None:
            self._glue_job.commit()


@contextmanager
def glue_job(names: Sequence[str], argv: Sequence[str] | None = None) -> Iterator[GlueJob]:
    """Resolve ``names`` from the job arguments, yield the job, commit it on success."""
    argv = list(sys.argv if argv is None else argv)
    job = GlueJob(parse_args(names, argv), argv)
    yield job
    job.commit()
