"""Model benchmarks: training time on ~1M transactions, batch inference throughput on 1M rows.

What is timed, on the simulator's data (15,000 customers x 30 days ~ 1M transactions):

* **training**: ``fraudstack.model.training.train`` with its defaults - feature computation,
  fitting with early stopping (2 threads), threshold choice and evaluation;
* **inference (in-process)**: the inference job's per-bucket steps
  (:func:`fraudstack.model.inference.entity_rows` per entity, then
  :func:`fraudstack.model.inference.score_new_rows`) on all rows - features over the whole
  history with the label events known, scores, TreeSHAP reason codes for the flagged rows only;
* **inference (Spark, ``--spark``)**: the Glue job's Spark stage
  (:func:`fraudstack.jobs.inference.score_pending`) on the same rows read from
  event-date-partitioned Parquet, local[2]; the warehouse write is not included;
* **online features**: events/s of :class:`fraudstack.features.OnlineFeatures` (the scorer's
  per-event path) on wire-form events.

Wall and process CPU time are both printed: on the shared 2-core machine other jobs' load
inflates wall time several-fold, CPU time much less.

    .venv/bin/python bench/bench_model.py [--customers 15000] [--days 30] [--spark]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from fraudstack.features import OnlineFeatures
from fraudstack.features.definitions import ENTITIES
from fraudstack.model.data import simulated
from fraudstack.model.decision_rule import Thresholds
from fraudstack.model.fraud_model import FraudModel
from fraudstack.model.inference import FRAUD_KNOWN_AT, TARGET, entity_rows, score_new_rows
from fraudstack.model.training import TrainConfig, train
from fraudstack.settings import load_settings
from fraudstack.simulator import SimulationConfig, iter_events

DECLINE = 0.9


def _thresholds(model: FraudModel) -> Thresholds:
    """The decision rule the inference job applies, with a fixed decline threshold."""
    return Thresholds.from_settings(load_settings(scorer_decline_threshold=DECLINE), model.threshold)


def _spark_rate(frame: Any, model: FraudModel, labels: list[tuple[str, Any]]) -> dict[str, float]:
    from fraudstack.jobs.inference import score_pending
    from fraudstack.spark import spark_session

    with tempfile.TemporaryDirectory(prefix="bench-model-") as folder:
        table = pa.Table.from_pandas(
            frame.assign(event_date=frame["event_time"].dt.date), preserve_index=False
        )
        pq.write_to_dataset(table, folder, partition_cols=["event_date"], coerce_timestamps="us")
        spark = spark_session("bench-model", load_settings())
        try:
            pending = list(zip(frame["transaction_id"], list(frame["event_time"]), strict=True))
            started = time.perf_counter()
            scored = score_pending(spark, Path(folder).as_uri(), model, pending, _thresholds(model), labels)
            seconds = time.perf_counter() - started
        finally:
            spark.stop()
    return {"spark_seconds": round(seconds, 1), "spark_rows_per_s": round(len(scored) / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=15_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--spark", action="store_true", help="also time the Glue job's Spark stage")
    args = parser.parse_args()

    started = time.perf_counter()
    dataset = simulated(customers=args.customers, days=args.days)
    frame = dataset.frame
    results: dict[str, Any] = {
        "rows": len(frame),
        "simulate_seconds": round(time.perf_counter() - started, 1),
    }
    print(f"simulated {len(frame):,} transactions", flush=True)

    started, cpu = time.perf_counter(), time.process_time()
    result = train(dataset, TrainConfig())
    model = result.model
    test = result.evaluation["test"]
    results.update(
        train_seconds=round(time.perf_counter() - started, 1),
        train_cpu_seconds=round(time.process_time() - cpu, 1),
        fit_seconds=model.manifest["fit_seconds"],
        fit_rows=model.manifest["fit_rows"],
        trees=model.manifest["best_iteration"],
        test_average_precision=round(test["average_precision"], 4),
        test_precision=round(test["precision"], 4),
        test_recall=round(test["recall"], 4),
    )
    print(f"trained in {results['train_seconds']} s", flush=True)

    assert dataset.labels is not None
    labels = dataset.labels[dataset.labels["is_fraud"]].groupby("transaction_id")["known_at"].min()
    history = frame.assign(**{TARGET: True, FRAUD_KNOWN_AT: frame["transaction_id"].map(labels)})
    started, cpu = time.perf_counter(), time.process_time()
    for entity in ENTITIES:  # the job's entity stages, then its card stage
        history = history.join(entity_rows(history, entity).set_index("transaction_id"), on="transaction_id")
    scored = score_new_rows(history.drop(columns=[FRAUD_KNOWN_AT]), model, _thresholds(model), top_k=3)
    seconds = time.perf_counter() - started
    flagged = int((scored["decision"] != "approve").sum())
    results.update(
        inference_seconds=round(seconds, 1),
        inference_cpu_seconds=round(time.process_time() - cpu, 1),
        inference_rows_per_s=round(len(scored) / seconds),
        flagged_explained=flagged,
    )
    print(f"scored {len(scored):,} rows in {seconds:.1f} s ({flagged:,} explained)", flush=True)

    events = list(
        islice(iter_events(SimulationConfig.create(customers=args.customers, days=args.days)), 200_000)
    )
    online = OnlineFeatures()
    started, cpu = time.perf_counter(), time.process_time()
    for event in events:
        online.update(event)
    results["online_features_per_s"] = round(len(events) / (time.perf_counter() - started))
    results["online_features_per_cpu_s"] = round(len(events) / (time.process_time() - cpu))

    if args.spark:
        results.update(_spark_rate(frame, model, list(labels.items())))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
