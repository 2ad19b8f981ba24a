"""Glue StartJobRun runs the uploaded script and GetJobRun reports its real state.

One Spark run only (a JVM start costs ~10 s on this machine): the script writes Parquet
through ``s3://`` (S3A on the emulator) with a helper from ``--extra-py-files`` and the
arguments Glue would pass. The failing script needs no Spark.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from tests.support import wait_until
from tests.support.emulator import Aws, create_job, upload

SPARK_SCRIPT = """
from fraudstack.gluejob import glue_job
from helpers import label

with glue_job(["JOB_NAME", "output", "rows"]) as job:
    rows = [(i, label(i)) for i in range(int(job.args["rows"]))]
    frame = job.spark.createDataFrame(rows, "id INT, label STRING")
    frame.write.mode("overwrite").parquet(job.args["output"])
    assert job.spark.read.parquet(job.args["output"]).count() == len(rows)
"""

HELPERS = """
def label(i):
    return "fraud" if i % 2 else "legit"
"""

FAILING_SCRIPT = """
import sys
print("reading", sys.argv)
raise ValueError("no transactions under " + sys.argv[sys.argv.index("--input") + 1])
"""


def wait_for_run(aws: Aws, job: str, run_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll GetJobRun until the run ends (its final state)."""

    def ended() -> dict[str, Any] | None:
        run: dict[str, Any] = aws("glue").get_job_run(JobName=job, RunId=run_id)["JobRun"]
        return run if run["JobRunState"] not in {"STARTING", "RUNNING"} else None

    return wait_until(ended, timeout, f"job run {run_id} ended", interval=0.5)


def test_spark_script_succeeds(aws: Aws, role_arn: str, bucket: str) -> None:
    script = upload(aws, bucket, "scripts/etl.py", SPARK_SCRIPT.encode())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("helpers.py", HELPERS)
    extra = upload(aws, bucket, "scripts/helpers.zip", archive.getvalue())
    job = create_job(aws, role_arn, script, {"--extra-py-files": extra, "--rows": "1"})

    run_id = aws("glue").start_job_run(
        JobName=job, Arguments={"--rows": "6", "--output": f"s3://{bucket}/out/"}
    )["JobRunId"]
    assert aws("glue").get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"] == "RUNNING"
    run = wait_for_run(aws, job, run_id)

    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert "ErrorMessage" not in run
    keys = [o["Key"] for o in aws("s3").list_objects_v2(Bucket=bucket, Prefix="out/")["Contents"]]
    assert "out/_SUCCESS" in keys
    assert any(k.endswith(".parquet") for k in keys)


def test_failing_script_ends_failed_with_the_error(aws: Aws, role_arn: str, bucket: str) -> None:
    script = upload(aws, bucket, "scripts/broken.py", FAILING_SCRIPT.encode())
    job = create_job(aws, role_arn, script, {"--input": "s3://nowhere/raw/"})

    run_id = aws("glue").start_job_run(JobName=job)["JobRunId"]
    run = wait_for_run(aws, job, run_id)

    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "ValueError: no transactions under s3://nowhere/raw/"
    assert run["CompletedOn"] >= run["StartedOn"]
