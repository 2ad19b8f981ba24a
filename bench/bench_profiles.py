"""Entity profiles: AP with the card's own features only vs with merchant/device/IP/customer profiles.

What it measures (issue 18): on the simulator with its six archetypes (merchant compromise
included) and its label delay (the label events: analyst verdicts within hours for some
frauds, chargebacks after days to weeks, some never), one dataset, two trainings with the
same split and settings - ``TrainConfig(card_only=True)`` and the default - and the test
window's average precision overall and per archetype, side by side, with each fit's CPU time.
The delayed-label features see each label from its ``known_at`` on, as a deployed model would.

Merchant compromise frauds come days after a breach window, so the last days of a run hold
few of them; ``--test-days`` (10) makes the test window long enough to measure them.

    .venv/bin/python bench/bench_profiles.py [--customers 4000] [--days 45] [--test-days 10]
"""

from __future__ import annotations

import argparse
import os
import time

from fraudstack.model.data import simulated
from fraudstack.model.training import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=4000)
    parser.add_argument("--days", type=int, default=45)
    parser.add_argument("--test-days", type=int, default=10)
    parser.add_argument("--val-days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    dataset = simulated(customers=args.customers, days=args.days, fraud_rate=0.01, seed=args.seed)
    frame = dataset.frame
    labels = 0 if dataset.labels is None else len(dataset.labels)
    print(f"{len(frame):,} transactions, {int(frame['is_fraud'].sum()):,} frauds, {labels:,} label events")
    results = {}
    for card_only in (True, False):
        started = time.process_time()
        result = train(
            dataset, TrainConfig(card_only=card_only, test_days=args.test_days, val_days=args.val_days)
        )
        test = result.evaluation["test"]
        name = "card only" if card_only else "with profiles"
        results[name] = test
        print(f"{name}: {len(result.model.features)} features, {time.process_time() - started:.1f} CPU s")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    types = sorted({t for test in results.values() for t in test["by_type"]})
    print(f"\n| | {' | '.join(results)} |\n|---|{'---|' * len(results)}")
    overall = [f"{test['average_precision']:.4f} ({test['frauds']} frauds)" for test in results.values()]
    print(f"| overall AP | {' | '.join(overall)} |")
    for fraud_type in types:
        cells = []
        for test in results.values():
            row = test["by_type"].get(fraud_type, {})
            cells.append(
                f"{row.get('average_precision', float('nan')):.4f} ({row.get('frauds', '?')} frauds)"
            )
        print(f"| {fraud_type} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
