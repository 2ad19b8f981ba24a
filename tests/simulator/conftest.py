"""Small simulated worlds shared by the simulator tests (built once per session: fast)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import pytest

from fraudstack.simulator import SimulationConfig, iter_labelled_tables, iter_tables

#: Enough fraud to measure every archetype, no label noise so labels are the truth.
PATTERN_CONFIG = SimulationConfig(customers=2_000, days=21, fraud_rate=0.02, label_noise=0.0, seed=7)


def run(config: SimulationConfig) -> pa.Table:
    return pa.concat_tables(iter_tables(config))


@pytest.fixture(scope="session")
def simulate() -> Callable[[SimulationConfig], pa.Table]:
    """The whole run of a config as one table."""
    return run


@pytest.fixture(scope="session")
def pattern_table() -> pa.Table:
    return run(PATTERN_CONFIG)


@pytest.fixture(scope="session")
def events(pattern_table: pa.Table) -> pd.DataFrame:
    """The pattern run as a DataFrame with float amounts, sorted by card then time."""
    df = pattern_table.to_pandas()
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(object)
    df["amount"] = df["amount"].astype(float)
    df["event_time"] = df["event_time"].dt.tz_convert(None)  # naive UTC: plain datetime64 arithmetic
    df["card_present"] = df["channel"] != "ecom"
    return df.sort_values(["card_id", "event_time"], kind="stable").reset_index(drop=True)


@pytest.fixture(scope="session")
def pattern_labels() -> pd.DataFrame:
    """The label events of the pattern run, with their transactions' event time and amount."""
    pairs = list(iter_labelled_tables(PATTERN_CONFIG))
    tx = pa.concat_tables([t for t, _ in pairs]).select(
        ["transaction_id", "event_time", "amount", "is_fraud"]
    )
    labels = pa.concat_tables([labels for _, labels in pairs]).to_pandas()
    labels["source"] = labels["source"].astype(object)
    frame = tx.to_pandas()
    frame["amount"] = frame["amount"].astype(float)
    return labels.merge(frame, on="transaction_id", how="left", validate="many_to_one")
