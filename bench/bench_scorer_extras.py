"""Per-event cost of what the scorer does beside deciding: drift monitoring and shadow scoring.

A micro-measure in one process, no broker: a model trained on the simulator, the online
feature rows of a simulated stream (:class:`fraudstack.features.OnlineFeatures`, as the
scorer builds them), cut into batches of ``--batch`` rows. Timed per batch, best of
``--repeat`` passes (the shared machine's load inflates the others):

- **score**: the scorer's scoring step (:meth:`Scorer._score`'s work: the row matrix, the
  model's inputs, ``inplace_predict``, thresholds) - the reference the other figures are a
  share of;
- **drift, loop**: :meth:`StreamDrift.observe` (the scorer loop's cost: the monitored columns'
  copy and an append);
- **drift, worker**: binning each 5 s hand-off and the window's PSI at each publish, on the
  worker thread (CPU the scorer process spends, off the loop);
- **shadow, worker**: a challenger (the same model's first half of trees) scoring the batch
  and encoding one record per transaction (:mod:`fraudstack.scoring.shadow`), off the loop;
- **shadow, loop**: handing the batch over, and ``Producer.produce`` of each record into
  librdkafka's queue (a producer with no broker: the enqueue the loop pays, not the network).

Cost per hour of traffic is the worker's per-event time times the events of an hour at
``--rate`` transactions a second, plus one PSI of the window per publish.

    .venv/bin/python bench/bench_scorer_extras.py [--customers 2000] [--days 14] [--batch 500]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from confluent_kafka import Producer

from fraudstack.features import OnlineFeatures
from fraudstack.model.data import simulated
from fraudstack.model.decision_rule import Thresholds
from fraudstack.model.fraud_model import FraudModel
from fraudstack.model.training import TrainConfig, train
from fraudstack.schema import event_to_json_bytes
from fraudstack.scoring.drift import StreamDrift, _Reference
from fraudstack.scoring.models import ScoringModel
from fraudstack.scoring.shadow import Shadows, _records
from fraudstack.settings import Settings
from fraudstack.simulator import SimulationConfig
from fraudstack.simulator.stream import iter_events
from fraudstack.wire import parse_event


def best(repeat: int, step: object) -> float:
    """The fastest of ``repeat`` runs of ``step()`` (seconds)."""
    assert callable(step)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rate", type=float, default=1000.0, help="tx/s for the per-hour figure")
    args = parser.parse_args()

    settings = Settings(metrics_enabled=False)
    t0 = time.perf_counter()
    model = ScoringModel(train(simulated(customers=1000, days=30, seed=7), TrainConfig(card_only=True)).model)
    took = time.perf_counter() - t0
    print(f"trained {model.version} ({len(model.model.features)} features) in {took:.1f}s")
    online = OnlineFeatures()
    config = SimulationConfig(customers=args.customers, days=args.days, seed=11)
    parsed = [parse_event(event_to_json_bytes(e)) for e in iter_events(config)]
    rows = [online.update(e) for e in parsed if e is not None]
    batches = [rows[i : i + args.batch] for i in range(0, len(rows), args.batch)]
    events = len(rows)
    print(f"{events:,} events in {len(batches)} batches of {args.batch}")
    thresholds = Thresholds.from_settings(settings, model.threshold)

    def score_all() -> None:
        for batch in batches:
            matrix = np.asarray(batch, dtype=np.float64)
            thresholds.decide(model.score(model.inputs(matrix)))

    matrices = [np.asarray(b, dtype=np.float64) for b in batches]
    scores = [model.score(model.inputs(m)) for m in matrices]
    drift = StreamDrift(settings.model_copy(update={"scorer_drift_window_seconds": 1e9}))

    def observe_all() -> None:
        drift._pending = []
        for matrix, score in zip(matrices, scores, strict=True):
            drift.observe(model, matrix, score)

    ref = _Reference.of(model)
    assert ref is not None
    observe_all()
    collected = list(drift._pending)

    def bin_all() -> None:
        values = np.concatenate([v for v, _ in collected])
        ref.counts(values, np.concatenate([s for _, s in collected]))

    score_s = best(args.repeat, score_all) / events
    observe_s = best(args.repeat, observe_all) / events
    bin_s = best(args.repeat, bin_all) / events
    # The window's PSI at a publish (a running sum: the same whatever the window's length).
    drift._work(ref, collected, 0.0, publish_now=False)
    psi_s = best(args.repeat, lambda: drift._drift(ref))
    drift.close()

    half = FraudModel(
        booster=model.model.booster[: max(1, model.model.booster.num_boosted_rounds() // 2)],
        features=model.model.features,
        threshold=model.threshold,
        version=f"{model.version}-half",
        manifest=model.model.manifest,
    )
    challenger = ScoringModel(half)
    batch_events = [parsed[i : i + args.batch] for i in range(0, len(parsed), args.batch)]
    jobs = list(zip(matrices, scores, batch_events, strict=True))

    def shadow_worker() -> None:
        for matrix, score, evs in jobs:
            _records(challenger, model.version, matrix, score, evs, "2026-01-01T00:00:00Z")  # type: ignore[arg-type]

    shadow_s = best(args.repeat, shadow_worker) / events
    produced = [_records(challenger, model.version, m, sc, e, "x") for m, sc, e in jobs]  # type: ignore[arg-type]
    producer = Producer({"bootstrap.servers": "127.0.0.1:9", "queue.buffering.max.messages": 10_000_000})
    shadows = Shadows()

    def shadow_loop() -> float:
        """Seconds the loop spends handing batches over and enqueueing their records (the
        worker's scoring, concurrent with it, is drained afterwards, untimed)."""
        spent = 0.0
        for (matrix, score, evs), records in zip(jobs, produced, strict=True):
            started = time.perf_counter()
            shadows.submit(challenger, model.version, matrix, score, evs, "x")  # type: ignore[arg-type]
            for key, value in records:
                producer.produce("shadow-scores", value=value, key=key)
            spent += time.perf_counter() - started
            producer.poll(0)
        list(shadows.results(0))
        producer.purge()
        return spent

    loop_s = min(shadow_loop() for _ in range(args.repeat)) / events
    shadows.close()
    trees = half.booster.num_boosted_rounds()
    print(f"shadow, worker: {shadow_s * 1e6:8.2f} us/event (a challenger of {trees} trees)")
    print(f"shadow, loop:   {loop_s * 1e6:8.2f} us/event (hand-over and enqueue)")

    print(f"score:          {score_s * 1e6:8.2f} us/event (the scoring step)")
    print(f"drift, loop:    {observe_s * 1e6:8.2f} us/event ({observe_s / score_s:.1%} of the scoring step)")
    print(f"drift, worker:  {bin_s * 1e6:8.2f} us/event binning ({bin_s / score_s:.1%} of the scoring step)")
    print(f"window PSI:     {psi_s * 1e3:8.2f} ms per publish")
    per_hour = bin_s * args.rate * 3600 + psi_s * 3600 / settings.scorer_drift_seconds
    print(
        f"per hour at {args.rate:,.0f} tx/s: {per_hour:.2f} CPU s "
        f"({per_hour / 3600:.3%} of one core); loop + worker = "
        f"{(observe_s + bin_s) / score_s:.1%} of the scoring step's time per event"
    )


if __name__ == "__main__":
    main()
