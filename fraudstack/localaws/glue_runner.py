"""Runs a Glue job's uploaded script locally, in the background, and reports its real state.

Why ``python script.py`` rather than ``spark-submit script.py``: pyspark starts its JVM
through spark-submit anyway when the script builds a session (``fraudstack.spark``), so the
Spark configuration lives in one place that scripts, tests and notebooks share; and scripts
that need no Spark (small maintenance jobs) do not pay the ~10 s JVM start.

The script gets its arguments as Glue passes them (``--KEY value`` pairs: the job's
DefaultArguments merged with the run's Arguments, plus ``--JOB_NAME`` and ``--JOB_RUN_ID``),
the emulator's environment (so ``fraudstack`` settings, Java and Spark variables reach it)
with ``AWS_ENDPOINT_URL`` pointing back at the emulator, and the files of
``--extra-py-files`` (downloaded from S3) on ``PYTHONPATH``.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraudstack.localaws import children
from fraudstack.settings import EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY

log = logging.getLogger(__name__)

#: ``ValueError: boom`` or ``pyspark.errors.AnalysisException: ...``: the line naming the error.
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b(:.*)?$")


@dataclass(frozen=True)
class JobRun:
    """One StartJobRun: where the script is and what Glue would pass it."""

    job_name: str
    run_id: str
    script_location: str
    arguments: Mapping[str, str]
    timeout_minutes: int


#: Called with (state, error message or None) when the run changes state.
StateCallback = Callable[[str, str | None], None]


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); ``s3a://`` too, as Glue accepts both."""
    match = re.match(r"^s3a?://([^/]+)/(.+)$", uri)
    if not match:
        raise ValueError(f"not an S3 URI: {uri!r}")
    return match.group(1), match.group(2)


def error_message(output: str, returncode: int) -> str:
    """The last line of the output that names an error, as Glue's ErrorMessage shows it."""
    for line in reversed(output.splitlines()):
        if _ERROR_LINE.match(line.strip()):
            return line.strip()
    if returncode < 0:
        return f"Command killed by signal {-returncode}"
    return f"Command failed with exit code {returncode}"


class GlueRunner:
    """Starts job runs in background threads; each run's files live in ``work_dir/<run id>``."""

    def __init__(self, work_dir: Path, endpoint_url: str, region: str, s3_client: Any) -> None:
        self._work_dir = work_dir
        self._endpoint_url = endpoint_url
        self._region = region
        self._s3 = s3_client

    def start(self, run: JobRun, on_state: StateCallback) -> None:
        """Run ``run`` in the background; ``on_state`` gets RUNNING then the final state."""
        on_state("RUNNING", None)
        thread = threading.Thread(
            target=self._run, args=(run, on_state), name=f"glue-{run.run_id[:12]}", daemon=True
        )
        thread.start()

    def _run(self, run: JobRun, on_state: StateCallback) -> None:
        run_dir = self._work_dir / run.run_id
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            script = self._download(run.script_location, run_dir)
            python_path = [str(self._download(uri.strip(), run_dir)) for uri in self._extra_py_files(run)]
            state, message = self._execute(run, script, python_path, run_dir)
        except Exception as exc:  # a missing script or S3 error fails the run, as on Glue
            log.exception("glue run %s of %s could not start", run.run_id, run.job_name)
            state, message = "FAILED", f"{type(exc).__name__}: {exc}"
        log.info("glue run %s of %s: %s %s", run.run_id, run.job_name, state, message or "")
        on_state(state, message)

    @staticmethod
    def _extra_py_files(run: JobRun) -> list[str]:
        value = run.arguments.get("--extra-py-files", "")
        return [uri for uri in value.split(",") if uri.strip()]

    def _download(self, uri: str, run_dir: Path) -> Path:
        bucket, key = split_s3_uri(uri)
        target = run_dir / Path(key).name
        self._s3.download_file(bucket, key, str(target))
        return target

    def _argv(self, run: JobRun, script: Path) -> list[str]:
        arguments = {"--JOB_NAME": run.job_name, "--JOB_RUN_ID": run.run_id, **run.arguments}
        argv = [sys.executable, str(script)]
        for key, value in arguments.items():
            argv += [key, value]
        return argv

    def _environment(self, python_path: list[str]) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            AWS_ENDPOINT_URL=self._endpoint_url,
            AWS_REGION=self._region,
            AWS_DEFAULT_REGION=self._region,
            AWS_ACCESS_KEY_ID=EMULATOR_ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY=EMULATOR_SECRET_ACCESS_KEY,
            PYSPARK_PYTHON=sys.executable,
            SPARK_LOCAL_IP="127.0.0.1",
            PYTHONUNBUFFERED="1",
        )
        # .py files are importable from their folder, .zip files themselves go on the path.
        entries = [p if p.endswith(".zip") else str(Path(p).parent) for p in python_path]
        if env.get("PYTHONPATH"):
            entries.append(env["PYTHONPATH"])
        if entries:
            env["PYTHONPATH"] = os.pathsep.join(entries)
        return env

    def _execute(
        self, run: JobRun, script: Path, python_path: list[str], run_dir: Path
    ) -> tuple[str, str | None]:
        log_path = run_dir / "output.log"
        started = time.monotonic()
        with log_path.open("wb") as output:
            proc = children.start(
                self._argv(run, script),
                env=self._environment(python_path),
                cwd=run_dir,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            try:
                proc.wait(timeout=run.timeout_minutes * 60)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                children.kill(proc)  # also ends a JVM the script left behind
                children.forget(proc)
        output_text = log_path.read_text(encoding="utf-8", errors="replace")
        log.info("glue run %s output (%s, %.1fs)", run.run_id, log_path, time.monotonic() - started)
        if timed_out:
            return "TIMEOUT", f"Job run timed out after {run.timeout_minutes} minutes"
        if proc.returncode == 0:
            return "SUCCEEDED", None
        return "FAILED", error_message(output_text, proc.returncode)
