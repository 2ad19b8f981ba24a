"""Determinism, schema validity, ordering, fraud rate, label noise, pacing and output files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from fraudstack.schema import FRAUD_TYPES, arrow_schema, event_to_json_bytes, validate_event
from fraudstack.simulator import SimulationConfig, iter_events, write
from fraudstack.simulator.assemble import table_to_events

Simulate = Callable[[SimulationConfig], pa.Table]

SMALL = SimulationConfig(customers=300, days=4, seed=11)


def test_same_seed_same_data_different_seed_different_data(simulate: Simulate) -> None:
    first, again = simulate(SMALL), simulate(SMALL)
    assert first.equals(again)
    other = simulate(SMALL.model_copy(update={"seed": 12}))
    assert not other.equals(first)
    assert set(other.column("transaction_id").to_pylist()).isdisjoint(
        first.column("transaction_id").to_pylist()
    )


def test_every_row_is_a_valid_event_in_every_form(simulate: Simulate, tmp_path: Path) -> None:
    table = simulate(SMALL)
    for event in table_to_events(table):
        result = validate_event(event_to_json_bytes(event))
        assert result.ok, (result.reason, event)
    path = write(SMALL, tmp_path / "t.parquet").path
    assert pq.read_schema(path).equals(arrow_schema())
    assert pq.read_table(path).cast(arrow_schema()).equals(table.cast(arrow_schema()))


def test_events_are_in_event_time_order_with_unique_ids(pattern_table: pa.Table) -> None:
    times = pattern_table.column("event_time").cast(pa.int64()).to_numpy()
    assert (np.diff(times) >= 0).all()
    ids = pattern_table.column("transaction_id")
    assert pc.count_distinct(ids).as_py() == len(ids)


def test_fraud_rate_is_close_to_the_requested_rate(simulate: Simulate) -> None:
    config = SimulationConfig(customers=3_000, days=10, seed=5)
    labels = simulate(config).column("is_fraud").to_numpy()
    assert labels.mean() == pytest.approx(config.fraud_rate, rel=0.25)
    assert (
        simulate(config.model_copy(update={"fraud_rate": 0.0, "label_noise": 0.0}))
        .column("is_fraud")
        .to_numpy()
        .sum()
        == 0
    )


def test_every_archetype_is_present_even_in_a_tiny_world(simulate: Simulate) -> None:
    types = set(simulate(SimulationConfig(customers=50, days=2, seed=3)).column("fraud_type").to_pylist())
    assert types - {None} == set(FRAUD_TYPES)


def test_label_noise_flips_labels_and_nothing_else(simulate: Simulate) -> None:
    clean = simulate(SMALL.model_copy(update={"label_noise": 0.0, "fraud_rate": 0.05}))
    noisy = simulate(SMALL.model_copy(update={"label_noise": 0.2, "fraud_rate": 0.05}))
    assert noisy.drop_columns(["transaction_id", "is_fraud", "fraud_type"]).equals(
        clean.drop_columns(["transaction_id", "is_fraud", "fraud_type"])
    )
    truth, seen = clean.column("is_fraud").to_numpy(), noisy.column("is_fraud").to_numpy()
    missed = (truth & ~seen).sum() / truth.sum()
    assert 0.1 < missed < 0.3
    assert (~truth & seen).sum() > 0


def test_iter_events_paces_by_event_time(simulate: Simulate) -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    config = SimulationConfig(customers=30, days=1, seed=2)
    events = list(iter_events(config, speed=3600.0, clock=lambda: now[0], sleep=sleep))
    assert events == table_to_events(simulate(config))
    assert all(json.loads(event_to_json_bytes(e)) == e for e in events[:50])
    span_s = (
        np.datetime64(events[-1]["event_time"][:-1]) - np.datetime64(events[0]["event_time"][:-1])
    ) / np.timedelta64(1, "s")
    assert sum(slept) == pytest.approx(span_s / 3600, rel=1e-6)
    with pytest.raises(ValueError, match="speed"):
        next(iter_events(config, speed=0))


def test_jsonl_output_validates_line_by_line(tmp_path: Path) -> None:
    summary = write(SMALL, tmp_path / "t.jsonl", "jsonl")
    lines = summary.path.read_bytes().splitlines()
    assert len(lines) == summary.rows
    assert all(validate_event(line).ok for line in lines)
    assert summary.frauds == sum(json.loads(line)["is_fraud"] for line in lines)
    assert not list(tmp_path.glob("*.partial"))
