"""Cost of the drift job per hour of traffic: read, features, PSI, publish and store.

An isolated embedded stack (free ports, a temporary state directory) gets a model trained on
the simulator and ``--days`` of simulated traffic in its warehouse (the star schema, loaded
without Spark). Then :func:`fraudstack.drift.run` measures one-hour windows of the last full day
(and that whole day), as ``fraudstack drift --since 1h`` would each hour, and prints per
window: transactions in the window, history rows read (the window's cards, 30 days back),
and wall / this process's CPU seconds of each phase - the warehouse read, the features, the
scoring + PSI, publishing to CloudWatch + the ``model_drift`` upsert. PostgreSQL's own CPU
is not in the process CPU figure; the read's wall time includes it.

The PSI step alone (``measure``) is what drift would cost inside a job that has the features
already (the batch inference job, the streaming scorer): it is printed per window row.

    .venv/bin/python bench/bench_drift.py [--customers 5000] [--days 31] [--train-customers 3000]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import timedelta

import pandas as pd
import pyarrow as pa

from fraudstack.aws import client
from fraudstack.drift import run
from fraudstack.model import registry
from fraudstack.model.data import simulated
from fraudstack.model.training import TrainConfig, train
from fraudstack.settings import Settings
from fraudstack.simulator import SimulationConfig, iter_tables
from fraudstack.warehouse import connect, migrate
from tests.support.stack import ephemeral_stack
from tests.support.star import load_events

#: UTC hours of the last day measured as one-hour windows (night, morning, afternoon, evening).
HOURS = (3, 9, 13, 19)


def prepare(settings: Settings, customers: int, days: int, train_customers: int) -> pd.DataFrame:
    """Migrate, publish a current model, load the traffic; returns the traffic's events."""
    with connect(settings) as wh:
        migrate(wh)
    client("s3", settings).create_bucket(Bucket=settings.artifacts_bucket)
    t0 = time.perf_counter()
    model = train(simulated(customers=train_customers, days=30, seed=7), TrainConfig()).model
    directory = settings.state_path / "model"
    registry.save_local(model, directory)
    registry.publish(settings, directory)
    registry.set_current(settings, model.version, "bench_drift")
    print(f"trained {model.version} in {time.perf_counter() - t0:.1f}s", flush=True)
    t0 = time.perf_counter()
    sim = SimulationConfig.create(customers=customers, days=days, seed=13)
    frame = pa.concat_tables(list(iter_tables(sim))).to_pandas()
    with connect(settings) as wh:
        load_events(wh, frame)
    print(
        f"loaded {len(frame):,} transactions over {days} days in {time.perf_counter() - t0:.1f}s", flush=True
    )
    return frame


def measure(settings: Settings, frame: pd.DataFrame) -> None:
    """Run the job on each window and print its phases."""
    # The simulation's last UTC day is partial (it ends at local midnight): take the one before.
    last_day = frame["event_time"].max().floor("D") - timedelta(days=1)
    windows = [(last_day + timedelta(hours=h), last_day + timedelta(hours=h + 1)) for h in HOURS]
    windows.append((last_day, last_day + timedelta(days=1)))
    print(
        "window            tx  history   read_s  feat_s  psi_s  store_s  wall_s  cpu_s  psi_us/tx", flush=True
    )
    for since, until in windows:
        cpu, wall = time.process_time(), time.perf_counter()
        done = run(settings, since.to_pydatetime(), until.to_pydatetime())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows = done.drift.rows
        label = f"{since:%H:%M}+{(until - since) // timedelta(hours=1)}h"
        print(
            f"{label:<12} {rows:>8,} {done.history_rows:>8,} {done.read_s:>8.2f} {done.features_s:>7.2f} "
            f"{done.measure_s:>6.3f} {done.store_s:>8.2f} {wall:>7.2f} {cpu:>6.2f} "
            f"{1e6 * done.measure_s / max(rows, 1):>10.1f}",
            flush=True,
        )
        print(f"  {done.line()}", flush=True)
    print(f"load average (1, 5, 15 min): {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--train-customers", type=int, default=3000)
    args = parser.parse_args()
    # A timeout's SIGTERM must still stop the stack (the with's exit), or it outlives the bench.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ephemeral_stack("fraudstack-bench-drift-") as running:
        settings = running.settings
        measure(settings, prepare(settings, args.customers, args.days, args.train_customers))


if __name__ == "__main__":
    main()
