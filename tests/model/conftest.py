"""One small simulated dataset and one model trained on it, shared by the model tests.

Small on purpose (a few hundred cards, two weeks, a raised fraud rate): the tests check
mechanics - split, threshold, registry, reason codes - not model quality, which
``bench/bench_model.py`` and BENCHMARKS.md cover on the default data.
"""

from __future__ import annotations

import pytest

from fraudstack.model.data import Dataset, simulated
from fraudstack.model.training import TrainConfig, TrainingResult, train

#: Two weeks of data: files without label times (bring-your-own) get a 1-day label delay, or the
#: validation window would know no fraud yet (the simulator's own label events are used as they are).
SMALL_CONFIG = TrainConfig(
    warmup_days=1, val_days=3, test_days=3, max_rounds=80, early_stopping_rounds=20, label_delay_days=1.0
)


@pytest.fixture(scope="session")
def small_dataset() -> Dataset:
    return simulated(customers=500, days=14, fraud_rate=0.02, seed=11)


@pytest.fixture(scope="session")
def trained(small_dataset: Dataset) -> TrainingResult:
    return train(small_dataset, SMALL_CONFIG)
