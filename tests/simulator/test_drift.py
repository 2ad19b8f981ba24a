"""Drift injection: each kind of event changes the run from its day on, and only then.

Why compare with the same config without drift: the schedule draws from random streams of
its own, so everything it does not change is the baseline's, row for row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from fraudstack.cli.app import main
from fraudstack.errors import ConfigError
from fraudstack.simulator import SimulationConfig

Simulate = Callable[[SimulationConfig], pa.Table]
BASE = {"customers": 800, "days": 20, "fraud_rate": 0.02, "label_noise": 0.0, "seed": 11}
ONSET_DAY = 11
ONSET = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=ONSET_DAY - 1)


def _rows(simulate: Simulate, drift: str = "") -> pa.Table:
    return simulate(SimulationConfig.create(**BASE, drift=drift))


def _times(table: pa.Table) -> np.ndarray:
    return table.column("event_time").to_numpy().astype("datetime64[us]")


def _before(table: pa.Table) -> np.ndarray:
    return _times(table) < np.datetime64(ONSET.replace(tzinfo=None), "us")


def _of_type(table: pa.Table, fraud_type: str) -> np.ndarray:
    return np.asarray(table.column("fraud_type").to_pylist()) == fraud_type


def test_a_run_without_drift_keeps_its_transaction_ids() -> None:
    """The run tag of a config without drift is the one it had before the schedule existed."""
    assert SimulationConfig().run_tag == "210bab4c"
    assert SimulationConfig.create(drift="day 2: amount x2").run_tag != SimulationConfig().run_tag


def test_an_archetype_rate_multiplies_from_its_day(simulate: Simulate) -> None:
    base, drifted = _rows(simulate), _rows(simulate, f"day {ONSET_DAY}: card_testing x4")
    per_day: dict[str, tuple[float, float]] = {}
    for name, table in (("base", base), ("drifted", drifted)):
        ct, before = _of_type(table, "card_testing"), _before(table)
        per_day[name] = ((ct & before).sum() / (ONSET_DAY - 1), (ct & ~before).sum() / (20 - ONSET_DAY + 1))
    rate_before, rate_after = per_day["drifted"]
    assert rate_after > 2.5 * rate_before, per_day
    assert per_day["base"][1] < 2 * per_day["base"][0], per_day


def test_an_archetype_switched_on_is_absent_before_and_off_absent_after(simulate: Simulate) -> None:
    spec = f"day {ONSET_DAY}: merchant_compromise on; day {ONSET_DAY}: velocity_attack off"
    drifted = _rows(simulate, spec)
    before = _before(drifted)
    mc, velocity = _of_type(drifted, "merchant_compromise"), _of_type(drifted, "velocity_attack")
    assert not (mc & before).any() and (mc & ~before).sum() > 0
    # an attack under way at the onset finishes within minutes; none starts after
    late = _times(drifted) >= np.datetime64(ONSET.replace(tzinfo=None) + timedelta(hours=2), "us")
    assert (velocity & before).sum() > 0 and not (velocity & late).any()


def test_amount_inflation_scales_every_amount_from_its_day(simulate: Simulate) -> None:
    base, drifted = _rows(simulate), _rows(simulate, f"day {ONSET_DAY}: amount x1.5")
    cents = [np.round(t.column("amount").cast(pa.float64()).to_numpy() * 100) for t in (base, drifted)]
    before = _before(base)
    assert np.array_equal(cents[0][before], cents[1][before])
    assert np.array_equal(np.maximum(1, np.round(cents[0][~before] * 1.5)), cents[1][~before])


def test_a_new_phone_wave_moves_customers_to_devices_they_never_used(simulate: Simulate) -> None:
    def new_device_share(table: pa.Table) -> float:
        """Share of online legitimate rows after the onset from a device the card had not used."""
        frame = table.select(["card_id", "device_id", "is_fraud", "event_time"]).to_pandas()
        frame = frame[frame["device_id"].notna() & ~frame["is_fraud"]]
        early = frame[_before(pa.Table.from_pandas(frame, preserve_index=False))]
        late = frame.drop(early.index)
        seen = set(zip(early["card_id"], early["device_id"], strict=True))
        pairs = zip(late["card_id"], late["device_id"], strict=True)
        return float(np.mean([pair not in seen for pair in pairs]))

    base = new_device_share(_rows(simulate))
    drifted = new_device_share(_rows(simulate, f"day {ONSET_DAY}: new_phone 50%"))
    assert base < 0.1 and drifted > base + 0.25, (base, drifted)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("day 20 card_testing x3", 'does not start with "day N:"'),
        ("day 3: card_test x3", "unknown target 'card_test'"),
        ("day 3: card_testing y3", 'expected "<archetype> xN"'),
        ("day 3: amount off", "cannot be switched on or off"),
        ("day 3: new_phone 120%", "at most 100%"),
        ("day 0: amount x2", "days count from 1"),
        ("day 31: amount x2", "past the run's last day (--days 30)"),
        (";", "no drift event"),
    ],
)
def test_a_bad_schedule_is_one_line(spec: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SimulationConfig.create(drift=spec)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_simulate_drift_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "tx.parquet")
    args = ["simulate", "--customers", "100", "--days", "3", "--out", out]
    assert main([*args, "--drift", "day 2: card_testing x3; day 3: amount x1.5"]) == 0
    printed = capsys.readouterr().out
    assert "day 2: card_testing x3" in printed and "day 3: amount x1.5" in printed
    assert main([*args, "--drift", "day 2: card_testing sometimes"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: invalid --drift:") and "\n" not in err
