"""Glue drift job: the batch pipeline's last step, live traffic and labels against the current model.

Runs :func:`fraudstack.drift.run_after_inference` - the day up to the newest transaction
loaded, features as training computes them, PSI per feature and of the score, CloudWatch
metrics (service ``drift``, where the template's alarms watch ``MaxFeaturePSI`` and
``ScorePSI``) and ``model_drift`` rows - unchanged on Glue 5.0 and through the local Glue
runner. No Spark: the window is a day of one pipeline's traffic, which pandas reads and
featurises in seconds (BENCHMARKS.md, *Drift job*), and a Spark session would cost more
than the work.

Then :func:`fraudstack.model.watch.check`: each model version's delayed-label figures per
day (``model_performance``, :mod:`fraudstack.model.performance`) are recomputed with the
labels the ETL has just loaded, and a newly promoted model whose precision over its mature
days fell below its predecessor's is rolled back.
"""

from __future__ import annotations

from fraudstack.drift import run_after_inference
from fraudstack.gluejob import glue_job
from fraudstack.model.watch import check


def main() -> None:
    """Glue entry point: ``--JOB_NAME`` (and Glue's own arguments); the rest is settings."""
    with glue_job(["JOB_NAME"]) as job:
        measured = run_after_inference(job.settings)
        print(
            "drift: no current model or no transaction yet" if measured is None else measured.line(),
            flush=True,
        )
        print(check(job.settings), flush=True)
