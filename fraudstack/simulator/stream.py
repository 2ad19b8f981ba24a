"""The simulation as a stream in event-time order: Arrow tables, or paced event dicts.

How ordering works without holding the run in memory: legitimate rows are generated one
local calendar day at a time. A later local day can never produce an event earlier than the
start of that day in the easternmost home time zone (the *watermark*), so after each day
every pending row before the watermark is final: it is merged with the pre-planned fraud
rows up to the same watermark, sorted, labelled and emitted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from fraudstack.schema import FRAUD_TYPES
from fraudstack.simulator.assemble import table_to_events, to_table
from fraudstack.simulator.config import SimulationConfig
from fraudstack.simulator.core import NO_FRAUD, US_PER_DAY, US_PER_SECOND
from fraudstack.simulator.drift import amount_factor, switch_phones
from fraudstack.simulator.fraud import PARAMS, SYNTHETIC, incident_counts, plan_fraud, segment_counts
from fraudstack.simulator.label_delay import label_events
from fraudstack.simulator.legit import legit_day
from fraudstack.simulator.lookalikes import micro_payment_runs, popular_merchant_bursts, shopping_sprees
from fraudstack.simulator.world import World, build_world

# Independent random streams per purpose (and per day), so output never depends on batching.
_WORLD, _FRAUD, _DAY, _NOISE, _LABELS, _DRIFT = range(6)


def _rng(config: SimulationConfig, *stream: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, *stream])


def _apply_label_noise(rows: np.ndarray, config: SimulationConfig, rng: np.random.Generator) -> None:
    """Flip a ``label_noise`` share of fraud labels to legit, and as many legit ones to fraud.

    Missed fraud and false disputes both happen in real chargeback data; flipping both ways
    keeps the overall fraud rate unchanged. A false fraud label gets an archetype drawn by the
    archetypes' shares, as a busy analyst would file it.
    """
    if config.label_noise == 0:
        return
    fraud = rows["ftype"] != NO_FRAUD
    u = rng.random(len(rows))
    legit_flip = config.label_noise * config.fraud_rate / (1 - config.fraud_rate)
    to_legit = fraud & (u < config.label_noise)
    to_fraud = ~fraud & (u < legit_flip)
    rows["ftype"][to_legit] = NO_FRAUD
    share = np.array(PARAMS.share) / sum(PARAMS.share)
    rows["ftype"][to_fraud] = rng.choice(len(FRAUD_TYPES), int(to_fraud.sum()), p=share)


def _day0_us(config: SimulationConfig) -> int:
    return int(config.start_utc.timestamp()) * US_PER_SECOND


def _setup(config: SimulationConfig) -> tuple[World, np.ndarray]:
    counts = incident_counts(config, _rng(config, _FRAUD, 0))
    segments = segment_counts(config, counts, _rng(config, _DRIFT, 0))
    world = build_world(config, sum(n for _, _, n in segments[SYNTHETIC]), _rng(config, _WORLD))
    switch_phones(config.drift, _day0_us(config), world.switch_us, _rng(config, _DRIFT, 1))
    return world, plan_fraud(world, config, segments, _rng(config, _FRAUD, 1))


def iter_tables(config: SimulationConfig, on_day: Callable[[int], None] | None = None) -> Iterator[pa.Table]:
    """Event tables in event-time order (one per simulated day, sizes vary).

    ``on_day(i)`` is called after day ``i`` is generated, for progress bars.
    """
    for table, _labels in iter_labelled_tables(config, on_day):
        yield table


def iter_labelled_tables(
    config: SimulationConfig, on_day: Callable[[int], None] | None = None
) -> Iterator[tuple[pa.Table, pa.Table]]:
    """:func:`iter_tables`, each table with the label events of its frauds (see :mod:`.label_delay`).

    The labels of a table come from their own random stream: the transactions are the same
    whether or not anyone reads the labels.
    """
    world, plan = _setup(config)
    pending = plan[:0]
    plan_at, seq = 0, 0
    for i in range(config.days):
        day: date = config.start + timedelta(days=i)
        rng = _rng(config, _DAY, i)
        fresh = [
            legit_day(world, day, rng),
            micro_payment_runs(world, day, rng),
            shopping_sprees(world, day, rng),
            popular_merchant_bursts(world, day, rng),
        ]
        last = i == config.days - 1
        watermark = (
            np.iinfo(np.int64).max
            if last
            else ((day - date(1970, 1, 1)).days + 1) * US_PER_DAY - world.max_home_offset_us
        )
        plan_to = len(plan) if last else int(np.searchsorted(plan["t"], watermark))
        pending = np.concatenate([pending, *fresh, plan[plan_at:plan_to]])
        plan_at = plan_to
        ready = pending["t"] < watermark
        rows, pending = pending[ready], pending[~ready]
        rows = rows[np.argsort(rows["t"], kind="stable")]
        _apply_label_noise(rows, config, _rng(config, _NOISE, i))
        if config.drift:
            inflation = amount_factor(config.drift, _day0_us(config), rows["t"])
            rows["cents"] = np.maximum(1, np.round(rows["cents"] * inflation)).astype(np.int64)
        if on_day is not None:
            on_day(i)
        if len(rows):
            table = to_table(world, rows, seq, config.run_tag)
            yield table, label_events(table, _rng(config, _LABELS, i))
            seq += len(rows)


def iter_events(
    config: SimulationConfig,
    *,
    speed: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, Any]]:
    """Events one by one in event-time order, as wire-form dicts (see :func:`table_to_events`).

    ``speed=None`` yields as fast as the consumer takes them; ``speed=1`` replays in real time
    (the gap between two events is slept); ``speed=60`` replays an hour of event time per
    minute. Serialise with :func:`fraudstack.schema.event_to_json_bytes`.
    """
    if speed is not None and speed <= 0:
        raise ValueError("speed must be positive (or None for no pacing)")
    origin: tuple[int, float] | None = None
    for table in iter_tables(config):
        times = table.column("event_time").cast(pa.int64()).to_numpy()
        for t_us, event in zip(times.tolist(), table_to_events(table), strict=True):
            if speed is not None:
                if origin is None:
                    origin = (t_us, clock())
                due = origin[1] + (t_us - origin[0]) / US_PER_SECOND / speed
                wait = due - clock()
                if wait > 0:
                    sleep(wait)
            yield event
