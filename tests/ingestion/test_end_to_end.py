"""``fraudstack produce`` -> Kafka -> ``fraudstack bridge`` -> Kinesis -> Firehose -> S3 ``raw/``.

Both services run as real subprocesses on simulated transactions; the expected ids come from
the simulator itself (deterministic for a seed), so the test checks the lake holds exactly
what was produced.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time

from fraudstack.aws import client
from fraudstack.simulator import SimulationConfig, iter_events
from tests.ingestion.conftest import Pipeline, wait_for_log
from tests.support.stack import stop_process

N = 20_000
SIMULATION = {"customers": 2000, "days": 10, "seed": 7}


def test_every_produced_transaction_lands_in_the_lake(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    config = SimulationConfig.create(**SIMULATION)
    expected = [event["transaction_id"] for event in itertools.islice(iter_events(config), N)]
    bridge = pipeline.start_bridge()
    try:
        wait_for_log(pipeline, "partitions assigned", timeout=30)
        options = [f"--{name}={value}" for name, value in SIMULATION.items()]
        produced = subprocess.run(
            [sys.executable, "-m", "fraudstack", "produce", f"--count={N}", *options],
            env={**os.environ, **settings.subprocess_env()},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert produced.returncode == 0, produced.stderr
        assert f"sent {N:,}, failed 0" in produced.stdout, produced.stdout

        started = time.monotonic()
        seen = pipeline.wait_for_lake(set(expected), timeout=60)
        duplicates = sum(seen.values()) - len(seen)
        took = time.monotonic() - started
        print(f"\n{N} transactions in the lake {took:.1f}s after produce; duplicates={duplicates}")
        assert set(seen) == set(expected), "the lake holds ids nobody produced"
        assert duplicates == 0, "a clean run (no crash) must not duplicate"
        assert bridge.poll() is None, pipeline.bridge_log()
    finally:
        code = stop_process(bridge)
    assert code == 0, pipeline.bridge_log()

    # A graceful stop logs its totals as one JSON line, and the metrics reached CloudWatch.
    lines = [json.loads(line) for line in pipeline.bridge_log().splitlines() if line.startswith("{")]
    stopped = next(line for line in lines if line["msg"] == "bridge stopped")
    assert stopped["forwarded"] == N and stopped["dead_lettered"] == 0
    cloudwatch = client("cloudwatch", settings)
    for service, wanted in {
        "bridge": {"RecordsIn", "RecordsOut", "PutRecordsLatency", "EndToEndLatency"},
        "producer": {"RecordsOut", "DeliveryLatency"},
    }.items():
        listed = cloudwatch.list_metrics(
            Namespace=settings.metrics_namespace, Dimensions=[{"Name": "Service", "Value": service}]
        )
        assert wanted <= {m["MetricName"] for m in listed["Metrics"]}, service
