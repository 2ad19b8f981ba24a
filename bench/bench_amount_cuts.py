"""Can the trees split on rare extreme amounts? Four ways to let them, on the same synthetic data.

Why: ``hist`` trees split only at cut points of a quantile sketch taken over the training
rows. With fraud rare, the cuts follow the legitimate amounts and the highest sits near their
99th percentile, so fraud far above it cannot be isolated. Candidates, each trained with the
same booster settings as :mod:`fraudstack.model.training`:

* ``hist`` at ``max_bin`` 128 (the old setup, ``scale_pos_weight``) and larger ``max_bin``;
* ``approx`` and ``exact`` trees (no fixed sketch);
* ``hist`` at 128 bins with the class weight as row weights (the sketch counts fraud rows by
  their weight): what ``fit_matrix`` does.

A log transform of the amount is no candidate: quantiles are invariant under a monotone
transform, so the cuts fall on the same rows.

Data: ``--rows`` lognormal amounts, ``--frauds`` of them replaced by 3-20x the 99.9th
percentile, three noise columns; a second draw is the test set.

``--simulator`` instead trains the real pipeline (``train(simulated(), TrainConfig())``, the
simulator defaults) and prints its test AP, highest amount cut and time; it uses nothing newer
than ``train``, so it also runs on an older checkout (``PYTHONPATH=<snapshot>``) for a
before/after comparison.

    .venv/bin/python bench/bench_amount_cuts.py [--rows 20000] [--frauds 30]
    PYTHONPATH=<checkout> .venv/bin/python bench/bench_amount_cuts.py --simulator
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import xgboost as xgb
from sklearn.metrics import average_precision_score

from fraudstack.model.data import simulated
from fraudstack.model.training import TrainConfig, train

NAMES = ("amount", "noise_a", "noise_b", "noise_c")


def _draw(seed: int, rows: int, frauds: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.5, 1.0, rows)
    fraud = np.zeros(rows, dtype=bool)
    picked = rng.choice(rows, frauds, replace=False)
    amount[picked] = np.quantile(amount, 0.999) * rng.uniform(3, 20, frauds)
    fraud[picked] = True
    return np.column_stack([amount, rng.normal(size=(rows, 3))]), fraud


def _highest_amount_cut(booster: xgb.Booster) -> float:
    trees = booster.trees_to_dataframe()
    return float(trees.loc[trees["Feature"] == "amount", "Split"].max())


def _simulator() -> None:
    dataset = simulated()
    started, cpu = time.perf_counter(), time.process_time()
    result = train(dataset, TrainConfig())
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    test = result.evaluation["test"]
    legit = dataset.frame.loc[~dataset.frame["is_fraud"], "amount"].astype(float)
    figures = {
        "load_average": os.getloadavg(),
        "rows": len(dataset.frame),
        "train_wall_s": round(wall, 1),
        "train_cpu_s": round(cpu, 1),
        "trees": result.model.booster.num_boosted_rounds(),
        "average_precision": round(test["average_precision"], 4),
        "precision": round(test["precision"], 4),
        "recall": round(test["recall"], 4),
        "highest_amount_cut": _highest_amount_cut(result.model.booster),
        "legit_amount_p99": round(float(legit.quantile(0.99)), 2),
        "legit_amount_p999": round(float(legit.quantile(0.999)), 2),
    }
    print(json.dumps(figures))


def _synthetic(rows: int, frauds: int, rounds: int) -> None:
    from fraudstack.model.training import fit_matrix

    x, y = _draw(0, rows, frauds)
    x_test, y_test = _draw(1, rows, frauds)
    dtest = xgb.DMatrix(x_test, feature_names=list(NAMES))
    legit_p999 = np.quantile(x_test[~y_test, 0], 0.999)
    base = TrainConfig().xgb_params()
    unweighted = xgb.DMatrix(x, label=y, feature_names=list(NAMES))
    class_weight = {"scale_pos_weight": (~y).sum() / y.sum()}
    setups: list[tuple[str, dict[str, object], xgb.DMatrix]] = [
        ("hist, max_bin 128, scale_pos_weight (old)", class_weight, unweighted),
        *(
            (f"hist, max_bin {bins}, scale_pos_weight", {**class_weight, "max_bin": bins}, unweighted)
            for bins in (256, 1024, 4096)
        ),
        ("approx, max_bin 128, scale_pos_weight", {**class_weight, "tree_method": "approx"}, unweighted),
        ("exact, scale_pos_weight", {**class_weight, "tree_method": "exact"}, unweighted),
        ("hist, max_bin 128, fraud rows weighted (new)", {}, fit_matrix(x, y, NAMES)),
    ]
    print(f"load average {os.getloadavg()}; test legit 99.9th percentile {legit_p999:,.1f}")
    print("| setup | highest amount cut | test AP | fit CPU s |\n|---|---|---|---|")
    for name, params, dtrain in setups:
        cpu = time.process_time()
        booster = xgb.train({**base, **params}, dtrain, num_boost_round=rounds)
        seconds = time.process_time() - cpu
        cut = _highest_amount_cut(booster)
        ap = average_precision_score(y_test, booster.predict(dtest))
        print(f"| {name} | {cut:,.1f} | {ap:.3f} | {seconds:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--frauds", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--simulator", action="store_true", help="train on the simulator defaults instead")
    args = parser.parse_args()
    if args.simulator:
        _simulator()
    else:
        _synthetic(args.rows, args.frauds, args.rounds)


if __name__ == "__main__":
    main()
