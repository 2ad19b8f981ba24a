"""The Glue ETL job on 1M raw transactions, against a plain Spark read+write of the same data.

Target (issue 5): the ETL takes at most 3x the baseline, and 1M rows in under 2 minutes on a
2-core machine. The benchmark starts its own embedded stack (fresh state dir, free ports),
writes Firehose-format objects (~5 MB of JSON lines each, 1% of the events redelivered in
a later object) to ``raw/``, then in ONE Spark session times

* **baseline** - ``spark.read.json`` of the raw objects with the event schema, written as
  Parquet to S3: what any JSON-to-Parquet job costs here;
* **etl** - :func:`fraudstack.jobs.etl.run`: bookmark, validation of every line
  by the event schema, cleaning, dedupe, curated Parquet, staged COPY + upsert into the
  warehouse;

and prints both, rows/s and the ratio.

    .venv/bin/python bench/bench_etl.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta

from fraudstack.aws import client
from fraudstack.jobs.etl import run as run_etl
from fraudstack.schema import arrow_schema
from fraudstack.settings import Settings
from fraudstack.spark import local_config
from tests.jobs.rawdata import lines, put_objects
from tests.support.stack import ephemeral_stack

OBJECT_BYTES = 5 * 1024 * 1024  # Firehose's default buffer size
#: Seconds between events: 1M transactions a day, a mid-size card issuer's volume, so a
#: 1M-row run covers about one day of event time (as a daily batch does).
EVENT_SPACING_S = 86_400 / 1_000_000


def write_raw(settings: Settings, rows: int) -> tuple[int, int]:
    """Upload ``rows`` events (+1% redelivered) as Firehose objects; return (lines, objects)."""
    s3 = client("s3", settings)
    s3.create_bucket(Bucket=settings.bucket)
    events = lines("bench", rows, customers=20_000, spacing_s=EVENT_SPACING_S)
    events += events[: rows // 100]  # at-least-once delivery: 1% arrive twice
    chunks: list[list[bytes]] = [[]]
    size = 0
    for line in events:
        if size + len(line) > OBJECT_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    hour = datetime(2026, 11, 1, tzinfo=UTC)
    per_hour = 12
    for start in range(0, len(chunks), per_hour):
        put_objects(
            s3, settings.bucket, hour + timedelta(hours=start // per_hour), chunks[start : start + per_hour]
        )
    return len(events), len(chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument(
        "--java-options", default=None, help="local Spark's JVM options (default: the settings' default)"
    )
    args = parser.parse_args()
    java = {} if args.java_options is None else {"spark_java_options": args.java_options}

    from pyspark.sql import SparkSession
    from pyspark.sql.pandas.types import from_arrow_schema

    # A timeout's SIGTERM must still stop the stack (the with's exit), or it outlives the bench.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ephemeral_stack("fraudstack-bench-etl-", spark_driver_memory=args.driver_memory, **java) as running:
        settings = running.settings
        spark = None
        try:
            t0 = time.monotonic()
            total, objects = write_raw(settings, args.rows)
            print(
                f"wrote {total:,} raw lines in {objects} objects in {time.monotonic() - t0:.1f}s", flush=True
            )

            os.environ.update(PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
            builder = SparkSession.builder.appName("bench-etl")
            for key, value in local_config(settings).items():
                builder = builder.config(key, value)
            spark = builder.getOrCreate()
            raw = f"s3://{settings.bucket}/{settings.raw_prefix}*/*/*/*/*"

            t0 = time.monotonic()
            spark.read.schema(from_arrow_schema(arrow_schema())).json(raw).write.mode("overwrite").parquet(
                f"s3://{settings.bucket}/bench-baseline/"
            )
            baseline = time.monotonic() - t0
            print(f"baseline read+write: {baseline:.1f}s ({total / baseline:,.0f} rows/s)", flush=True)

            summary = run_etl(spark, settings)
            print(summary.line(), flush=True)
            print(summary.stage_line(), flush=True)
            ratio = summary.elapsed_s / baseline
            print(
                f"RESULT rows={total} baseline_s={baseline:.1f} etl_s={summary.elapsed_s:.1f} "
                f"etl_rows_per_s={total / summary.elapsed_s:,.0f} ratio={ratio:.2f} "
                f"loaded={summary.rows_loaded} duplicates={summary.duplicates_dropped} "
                f"load_avg={os.getloadavg()[0]:.1f}",
                flush=True,
            )
        finally:
            if spark is not None:
                spark.stop()


if __name__ == "__main__":
    main()
