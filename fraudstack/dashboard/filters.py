"""The filters every view shares, and the SQL they turn into.

Why one place: the time range and the dimension filters must mean exactly the same thing in
every query (KPIs and charts on the rollups, the alert list on the facts), and the SQL must
stay parameterised. A :class:`Filters` value is immutable and hashable, so Streamlit can
cache query results per filter combination.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fraudstack.warehouse import rollups

#: Dimension name -> its rollup column (see :mod:`fraudstack.warehouse.rollups`).
ROLLUP_COLUMNS: dict[str, str] = {
    "Merchant category": "merchant_category",
    "Card type": "card_type",
    "Device OS": "device_os",
    "Issuing bank": "issuing_bank",
}
#: Dimension name -> the SQL expression (over the star schema's aliases) it filters the facts on:
#: the expression its rollup column was grouped on, so both mean the same.
DIMENSIONS: dict[str, str] = {name: rollups.DIMENSIONS[column] for name, column in ROLLUP_COLUMNS.items()}

#: Which dimension table each dimension needs joined (alias -> join clause).
_JOINS: dict[str, str] = {
    "m": "JOIN dim_merchant m ON m.merchant_id = f.merchant_id",
    "c": "JOIN dim_card c ON c.card_id = f.card_id",
    "d": "LEFT JOIN dim_device d ON d.device_id = f.device_id",
    "l": "JOIN dim_location l ON l.location_key = f.location_key",
}
_DIMENSION_ALIAS: dict[str, str] = {
    "Merchant category": "m",
    "Card type": "c",
    "Device OS": "d",
    "Issuing bank": "c",
}

#: A transaction counts as fraud by its label, unless an analyst has reviewed it since.
FRAUD = rollups.FRAUD


def facts_from(*, dimensions: tuple[str, ...] = (), aliases: tuple[str, ...] = ()) -> str:
    """``fact_transactions f`` plus only the dimension joins a query needs.

    Why not always join every dimension: on a million rows each unneeded join costs a hash
    join per query, and the page-load budget is 3 s for all of a view's queries.
    """
    needed = {_DIMENSION_ALIAS[name] for name in dimensions} | set(aliases)
    joins = [_JOINS[alias] for alias in ("m", "c", "d", "l") if alias in needed]
    return " ".join(["fact_transactions f", *joins])


#: The time range a page opens with: the last 30 days that hold data.
DEFAULT_DAYS = 30


def default_range(first: date, last: date) -> tuple[date, date]:
    """The default time range, given the first and last day with transactions."""
    return max(first, last - timedelta(days=DEFAULT_DAYS - 1)), last


@dataclass(frozen=True)
class Filters:
    """A time range (whole UTC days, ``end`` inclusive) and selected values per dimension.

    Only dimensions with a selection are listed, so "no filters" has one spelling and the
    cache warmer's default filters equal (and hash like) a fresh page's.
    """

    start: date
    end: date
    selected: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def active(self) -> tuple[str, ...]:
        """Dimensions with at least one selected value (an empty selection means "all")."""
        return tuple(name for name, values in self.selected if values)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """``[start, end)`` as UTC timestamps for ``event_ts`` comparisons."""
        return _utc(self.start), _utc(self.end + timedelta(days=1))

    def previous(self) -> Filters:
        """The period of the same length just before this one (for "change vs previous")."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def rollup_where(self, *, since: date | None = None) -> tuple[str, list[Any]]:
        """The ``WHERE`` condition over a rollup aliased ``r``, from ``since`` (default: ``start``)."""
        clauses = ["r.date_key >= %s AND r.date_key <= %s"]
        params: list[Any] = [rollups.date_key(since or self.start), rollups.date_key(self.end)]
        for name, values in self.selected:
            if values:
                clauses.append(f"r.{ROLLUP_COLUMNS[name]} IN ({', '.join(['%s'] * len(values))})")
                params.extend(values)
        return " AND ".join(clauses), params

    def where(self, *, include_time: bool = True) -> tuple[str, list[Any]]:
        """The ``WHERE`` condition over the facts (without the keyword) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if include_time:
            clauses.append("f.event_ts >= %s AND f.event_ts < %s")
            params.extend(self.bounds())
        for name, values in self.selected:
            if values:
                clauses.append(f"{DIMENSIONS[name]} IN ({', '.join(['%s'] * len(values))})")
                params.extend(values)
        return (" AND ".join(clauses) or "TRUE"), params


def _utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
