"""Which simulator drift schedules move the drift figures: PSI after an onset, per schedule.

A card-only model trained on 30 days of the simulator; then 12 days of a world with each
``--drift`` schedule (onset on day 8, the same seed), the days from the onset measured
against the model's reference (:func:`fraudstack.model.drift.measure`): the score's PSI and
the three highest feature PSIs. Tells a drift demo which schedule fires the alarms (PSI
0.25): a change in the fraud alone barely moves the population.

    .venv/bin/python bench/bench_drift_signals.py
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from fraudstack.features import compute_features
from fraudstack.model.data import simulated
from fraudstack.model.drift import measure
from fraudstack.model.training import TrainConfig, train
from fraudstack.simulator import SimulationConfig, iter_tables

SCHEDULES = ("", "day 8: amount x1.5", "day 8: new_phone 30%", "day 8: card_testing x3")


def main() -> None:
    model = train(simulated(customers=1500, days=30, seed=7), TrainConfig(card_only=True)).model
    reference = model.manifest["reference"]
    for spec in SCHEDULES:
        config = SimulationConfig.create(customers=1500, days=12, seed=11, drift=spec)
        frame = pa.concat_tables(list(iter_tables(config))).to_pandas()
        frame = frame.sort_values("event_time").reset_index(drop=True)
        features = compute_features(frame)
        onset = frame["event_time"].min().normalize() + pd.Timedelta(days=7)
        after = (frame["event_time"] >= onset).to_numpy()
        drift = measure(reference, features[after], model.score(features[after]))
        top = sorted(drift.features.items(), key=lambda item: -item[1])[:3]
        shown = ", ".join(f"{name} {psi:.3f}" for name, psi in top)
        print(f"{spec or 'no drift':24s} {drift.rows:6,} rows  score PSI {drift.score:.3f}  top: {shown}")


if __name__ == "__main__":
    main()
