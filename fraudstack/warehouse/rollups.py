"""Daily rollups of the facts: what every dashboard chart and KPI reads.

Why: the dashboard aggregated the facts on every filter change, so each view cost time in
proportion to the fact table (up to 10 s at 10M transactions). The rollups hold the same sums
per day at the *joint* grain of the dashboard's filters - merchant category x card type x
device OS x issuing bank - so any combination of filter values is answered exactly by summing
rollup rows: a few thousand rows per day, however many transactions the day had.

* ``rollup_transactions``: transactions, amount, frauds, fraud amount, alerts sent;
* ``rollup_frauds``: frauds per fraud type, with the high-risk segments (VPN, first
  customer-merchant pair, device new to the card - both over the whole history);
* ``rollup_predictions``: predictions per model version, decision, score bin and label;
* ``rollup_days``: each rolled-up day, when it was rolled up and its newest event.

"Fraud" is the label unless an analyst's verdict overrides it (:data:`FRAUD`).

**Maintenance: whole days, recomputed.** Whoever changes the facts recomputes the days it
touched with :func:`refresh`, in the same transaction as the change, so no reader sees facts
without their rollups: the ETL (:data:`FACTS`: the days of the rows it loaded), inference
(:data:`PREDICTIONS`: the days of the rows it scored), an analyst's verdict (both, one day).
Migration 5 builds the rollups of what is already loaded with the same SQL. Recomputing a
day rather than adding deltas keeps one definition of every figure (a delta path would be a
second one to keep equal) and is idempotent under retries; its cost is a day of facts, not
the table (measured per ETL run in ``bench/bench_dashboard.py``).

**Alerts** are sent after the pipeline's last write (the alert Lambda), so a day counts the
alerts sent before its ``refreshed_at`` and the dashboard adds those sent since from
``fraud_alerts`` (few rows, found through the facts' primary key).

**Why tables, not Redshift materialized views:** a materialized view refreshes all of itself
(PostgreSQL always, Redshift whenever the view is not incrementally refreshable - the
segments' ``NOT EXISTS`` over history and the outer joins make ours so), while the pipeline
knows exactly which days changed; and plain tables keep one DDL and one SQL for both engines.

Known limits, by design: a late event does not re-evaluate the "first pair" / "new device"
flags of *later* frauds, and a type-1 change of a dimension attribute does not move earlier
days between groups, until those days are recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from fraudstack.warehouse.dialect import Dialect, lock_table

if TYPE_CHECKING:
    from fraudstack.warehouse.connection import Warehouse

#: Rollup column -> the expression over the star schema's aliases it is grouped on.
#: Card-present transactions carry no device, so their "device OS" is a value of its own.
DIMENSIONS: dict[str, str] = {
    "merchant_category": "m.merchant_category",
    "card_type": "c.card_type",
    "device_os": "COALESCE(d.device_os, 'card present')",
    "issuing_bank": "c.issuing_bank",
}

#: The dimension joins every rollup needs (the ``f`` alias is ``fact_transactions``).
STAR = (
    "fact_transactions f JOIN dim_merchant m ON m.merchant_id = f.merchant_id "
    "JOIN dim_card c ON c.card_id = f.card_id LEFT JOIN dim_device d ON d.device_id = f.device_id"
)

#: Equal-width score bins on [0, 1] of the score histogram.
SCORE_BINS = 20


def fraud(alias: str = "f") -> str:
    """Whether a transaction counts as fraud: its label, unless an analyst has reviewed it since.

    Written as AND/OR over the columns (never NULL) rather than a CASE, so the planner can
    estimate it from column statistics: about 1 % of rows, not its 50 % default guess.
    """
    return (
        f"(({alias}.analyst_label IS NULL AND {alias}.is_fraud) "
        f"OR ({alias}.analyst_label IS NOT NULL AND {alias}.analyst_label = 'fraud'))"
    )


FRAUD = fraud()


class Part(StrEnum):
    """Which rollups a writer's change can affect."""

    FACTS = "facts"  # transactions, frauds, days (and the alerts counted in them)
    PREDICTIONS = "predictions"


FACTS = frozenset({Part.FACTS})
PREDICTIONS = frozenset({Part.PREDICTIONS})
ALL = frozenset(Part)

_DIMS = ", ".join(DIMENSIONS)
_GROUP_DIMS = ", ".join(DIMENSIONS.values())


def _transactions(days: str, cutoff: str) -> str:
    return (
        f"INSERT INTO rollup_transactions (date_key, {_DIMS}, transactions, amount, frauds, fraud_amount, "
        f"alerts_sent) SELECT f.date_key, {_GROUP_DIMS}, COUNT(*), SUM(f.amount), "
        f"SUM(CASE WHEN {FRAUD} THEN 1 ELSE 0 END), SUM(CASE WHEN {FRAUD} THEN f.amount ELSE 0 END), "
        "SUM(CASE WHEN a.transaction_id IS NULL THEN 0 ELSE 1 END) "
        f"FROM {STAR} LEFT JOIN fraud_alerts a ON a.transaction_id = f.transaction_id "
        f"AND a.status = 'sent' AND a.sent_at < {cutoff} "
        f"WHERE {days.format(alias='f')} GROUP BY 1, 2, 3, 4, 5"
    )


def _frauds(days: str) -> str:
    """Frauds per type and segment; the history anti-joins run for the fraud rows only (~1 %)."""
    first_pair = (
        f"SELECT e.transaction_id FROM fact_transactions e WHERE {days.format(alias='e')} AND {fraud('e')} "
        "AND NOT EXISTS (SELECT 1 FROM fact_transactions x WHERE x.customer_id = e.customer_id "
        "AND x.merchant_id = e.merchant_id AND x.event_ts < e.event_ts)"
    )
    new_device = (
        f"SELECT e.transaction_id FROM fact_transactions e WHERE {days.format(alias='e')} AND {fraud('e')} "
        "AND e.device_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM fact_transactions x "
        "WHERE x.card_id = e.card_id AND x.device_id = e.device_id AND x.event_ts < e.event_ts)"
    )
    return (
        f"INSERT INTO rollup_frauds (date_key, {_DIMS}, fraud_type, frauds, vpn_frauds, first_pair_frauds, "
        f"new_device_frauds) SELECT f.date_key, {_GROUP_DIMS}, COALESCE(f.fraud_type, 'unlabelled'), "
        "COUNT(*), SUM(CASE WHEN f.ip_is_vpn THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN fp.transaction_id IS NULL THEN 0 ELSE 1 END), "
        "SUM(CASE WHEN nd.transaction_id IS NULL THEN 0 ELSE 1 END) "
        f"FROM {STAR} LEFT JOIN ({first_pair}) fp ON fp.transaction_id = f.transaction_id "
        f"LEFT JOIN ({new_device}) nd ON nd.transaction_id = f.transaction_id "
        f"WHERE {days.format(alias='f')} AND {FRAUD} GROUP BY 1, 2, 3, 4, 5, 6"
    )


def _predictions(days: str) -> str:
    return (
        f"INSERT INTO rollup_predictions (date_key, {_DIMS}, model_version, decision, score_bin, is_fraud, "
        f"predictions, last_scored_at) SELECT f.date_key, {_GROUP_DIMS}, p.model_version, p.decision, "
        f"CAST(LEAST(FLOOR(p.score * {SCORE_BINS}), {SCORE_BINS - 1}) AS SMALLINT), {FRAUD}, COUNT(*), "
        f"MAX(p.scored_at) FROM {STAR} JOIN fraud_predictions p ON p.transaction_id = f.transaction_id "
        f"WHERE {days.format(alias='f')} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
    )


def _days(days: str, cutoff: str) -> str:
    return (
        f"INSERT INTO rollup_days (date_key, refreshed_at, last_event_ts) SELECT f.date_key, {cutoff}, "
        f"MAX(f.event_ts) FROM fact_transactions f WHERE {days.format(alias='f')} GROUP BY f.date_key"
    )


def _statements(parts: frozenset[Part], days: str, cutoff: str) -> list[tuple[str, str, int, bool]]:
    """(table, INSERT ... SELECT, times ``days`` occurs in it, whether ``cutoff`` precedes them)."""
    out: list[tuple[str, str, int, bool]] = []
    if Part.FACTS in parts:
        out += [
            ("rollup_transactions", _transactions(days, cutoff), 1, True),
            ("rollup_frauds", _frauds(days), 3, False),
            ("rollup_days", _days(days, cutoff), 1, True),
        ]
    if Part.PREDICTIONS in parts:
        out.append(("rollup_predictions", _predictions(days), 1, False))
    return out


def build_sql(cutoff: str) -> str:
    """Every rollup of every loaded day, as ``;``-terminated statements (migration 5).

    ``cutoff`` is the SQL for "now" in the target dialect: alerts sent later are the
    dashboard's to add.
    """
    return "".join(f"{sql};\n" for _, sql, _, _ in _statements(ALL, "TRUE", cutoff))


def date_key(day: date) -> int:
    """``YYYYMMDD`` of a date or datetime (a datetime is taken in UTC)."""
    if isinstance(day, datetime):
        day = day.astimezone(UTC).date()
    return int(f"{day:%Y%m%d}")


def refresh(wh: Warehouse, days: Iterable[int], parts: frozenset[Part] = ALL) -> int:
    """Recompute ``parts`` of the rollups for ``days`` (``date_key`` values); return the day count.

    Runs in the caller's transaction: call it after the change, before the commit. Writers
    are serialised on ``rollup_days`` (two recomputing the same day would insert it twice);
    PostgreSQL readers go on meanwhile.
    """
    keys: Sequence[int] = sorted(set(days))
    if not keys:
        return 0
    wh.execute(lock_table(wh.dialect, "rollup_days"))
    if wh.dialect is Dialect.POSTGRES:  # the day's groups sort in memory (4 MB spilled to disk)
        wh.execute("SET LOCAL work_mem = '128MB'")
    cutoff = datetime.now(UTC)
    in_days = f"IN ({', '.join(['%s'] * len(keys))})"
    for table, sql, uses, with_cutoff in _statements(parts, "{alias}.date_key " + in_days, "%s"):
        wh.execute(f"DELETE FROM {table} WHERE date_key {in_days}", keys)
        wh.execute(sql, [*([cutoff] if with_cutoff else []), *(list(keys) * uses)])
    return len(keys)
