"""When each fraud's label becomes known: the simulator's label events.

Why: a simulator knows every label at once, a bank does not. A chargeback arrives when the
cardholder reads the statement and disputes it - days to weeks later, with a long tail, and
never for a share of frauds (tiny card-testing charges above all: nobody notices 50 cents).
Analysts confirm a share of frauds within hours of the alert. A model trained, or a feature
computed, as if labels were known at once looks better on paper than it can be in service;
with these events the training split and the delayed-label features see only what was known.

One :class:`fraudstack.labels.LabelEvent` per (transaction, source): a ``chargeback`` for
each fraud that is ever disputed, an ``analyst`` verdict for a share of frauds. Labels
follow the stream's final ``is_fraud`` (after label noise): a false dispute is a chargeback
on a genuine purchase, a missed fraud has no label event at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudstack.labels import LABEL_SOURCES, arrow_schema
from fraudstack.simulator.core import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE

CHARGEBACK, ANALYST = LABEL_SOURCES.index("chargeback"), LABEL_SOURCES.index("analyst")


@dataclass(frozen=True, slots=True)
class LabelDelayParams:
    """Every knob of the label delay; tests and training refer to the same numbers."""

    chargeback_never_share: float = 0.1  # frauds never disputed
    chargeback_never_share_small: float = 0.6  # ... of those under small_usd (unnoticed)
    small_usd: float = 5.0
    # log-normal delay: median 12 days, 1 in 20 after ~45 days
    chargeback_median_days: float = 12.0
    chargeback_sigma: float = 0.8
    chargeback_min_days: float = 1.0
    analyst_share: float = 0.3  # frauds an analyst confirms (after an alert or a call)
    analyst_median_hours: float = 4.0
    analyst_sigma: float = 1.0
    analyst_min_minutes: float = 10.0


LABEL_DELAY = LabelDelayParams()
_SOURCES = pa.array(LABEL_SOURCES)


def label_events(
    table: pa.Table, rng: np.random.Generator, params: LabelDelayParams = LABEL_DELAY
) -> pa.Table:
    """The label events of one transaction table (fraud rows only), sorted by ``known_at``.

    Columns as :func:`fraudstack.labels.arrow_schema` (``source`` dictionary-encoded).
    """
    fraud = table.column("is_fraud").combine_chunks().to_numpy(zero_copy_only=False)
    where = np.flatnonzero(fraud)
    ids = table.column("transaction_id").combine_chunks().take(pa.array(where))
    t = table.column("event_time").combine_chunks().cast(pa.int64()).to_numpy()[where]
    usd = pc.cast(table.column("amount").combine_chunks(), pa.float64()).to_numpy()[where]
    n = len(where)

    never = np.where(
        usd < params.small_usd, params.chargeback_never_share_small, params.chargeback_never_share
    )
    disputed = rng.random(n) >= never
    days = np.maximum(
        params.chargeback_min_days,
        params.chargeback_median_days * rng.lognormal(0, params.chargeback_sigma, n),
    )
    reviewed = rng.random(n) < params.analyst_share
    hours = params.analyst_median_hours * rng.lognormal(0, params.analyst_sigma, n)
    analyst_us = np.maximum(params.analyst_min_minutes * US_PER_MINUTE, hours * US_PER_HOUR)

    rows = np.concatenate([np.flatnonzero(disputed), np.flatnonzero(reviewed)])
    source = np.concatenate([np.full(disputed.sum(), CHARGEBACK), np.full(reviewed.sum(), ANALYST)])
    delay = np.concatenate([(days * US_PER_DAY)[disputed], analyst_us[reviewed]]).astype(np.int64)
    known = t[rows] + delay
    order = np.argsort(known, kind="stable")
    columns = [
        ids.take(pa.array(rows[order])),
        pa.array(np.ones(len(rows), dtype=bool)),
        pa.DictionaryArray.from_arrays(pa.array(source[order].astype(np.int32)), _SOURCES),
        pa.array(known[order], type=pa.timestamp("us", tz="UTC")),
    ]
    return pa.Table.from_arrays(columns, schema=dictionary_schema())


def dictionary_schema() -> pa.Schema:
    """:func:`fraudstack.labels.arrow_schema` with ``source`` dictionary-encoded (three values)."""
    schema = arrow_schema()
    index = schema.get_field_index("source")
    return schema.set(index, schema.field(index).with_type(pa.dictionary(pa.int32(), pa.string())))
