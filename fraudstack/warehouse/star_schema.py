"""The star schema, defined once and rendered as PostgreSQL or Redshift DDL.

Why a Python definition: the two dialects must describe the same tables and columns, and
loaders need the column lists too. The DDL files under ``fraudstack/data/warehouse/`` are renderings
of the migrations (``python -m fraudstack.warehouse``), kept in lockstep by a test.

Design (a modified star, for the dashboard's joins and time filters and the model's scoring):

* dimensions keyed by the event's natural ids (``customer_id``, ``card_id``, ``merchant_id``,
  ``device_id``) - the ids are already stable, short and unique, so loads need no key
  lookups and the ETL, inference job and Lambda can all join on what an event carries;
  ``dim_location`` is keyed by ``location_key`` = ``COUNTRY:city``; ``dim_date``
  (``date_key`` = ``YYYYMMDD``) and ``dim_time`` (``time_key`` = ``HHMM``, minute grain).
  Attributes are overwritten on change (type 1).
* ``fact_transactions``: one row per ``transaction_id``; ground-truth labels (``is_fraud``,
  ``fraud_type``) are label columns, never features; ``analyst_label`` is set later by review.
* ``fraud_predictions``: one row per (transaction, model version).
* ``fraud_alerts``: one alert per transaction (``transaction_id`` unique), claimed then sent;
  ``attempts`` counts the runs that claimed it and ``last_error`` says why the last one failed,
  so an alert that cannot be sent ends ``dead_lettered`` instead of blocking the rest;
  ``claim_token`` names the dispatch run that last claimed it (how a run finds its claims
  without ``RETURNING``, which Redshift lacks).
* ``fact_labels``: label events (chargeback, analyst, rule) with the time each became known,
  one per (transaction, source) - what training and delayed-label features may use, and when.
* ``etl_runs`` / ``etl_objects``: the ETL's bookmark - which raw and label objects each run loaded.
* ``rollup_*``: daily sums of the facts at the dashboard's filter grain (migration 5), what
  every dashboard chart reads; maintained by :mod:`.rollups`.

Text lengths are in bytes on Redshift, so free-text columns allow 4 bytes per character.

Redshift distribution: facts by ``card_id`` (the dashboard's per-card drill-downs join
``dim_card`` co-located), sorted by ``event_ts`` (every dashboard query filters on time);
predictions and alerts by ``transaction_id``; small dimensions ``DISTSTYLE ALL``.
PostgreSQL gets B-tree indexes on the same columns. Keys are declared on both engines;
Redshift treats them as planner hints only, so loads enforce uniqueness themselves.

References (``Column.references``) are checked by every load, set-based, on both engines
(:meth:`~fraudstack.warehouse.connection.Warehouse.upsert`). PostgreSQL additionally
enforces them as foreign keys, except the seven dimension keys of ``fact_transactions``:
migration 2 drops those, because their per-row triggers cost more than the insert itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fraudstack.warehouse.dialect import Dialect, column_type, default_now, supports_checks


@dataclass(frozen=True)
class Column:
    """One column. ``type`` is portable SQL or a logical type of :mod:`.dialect`."""

    name: str
    type: str
    nullable: bool = True
    default_now: bool = False
    default: str | None = None  # an SQL literal
    check: str | None = None  # enforced on PostgreSQL only
    references: str | None = None  # "table(column)"


@dataclass(frozen=True)
class Table:
    """One table and its physical design on both engines."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    unique: tuple[str, ...] = ()
    diststyle: str = "KEY"  # KEY | ALL | AUTO (Redshift)
    distkey: str | None = None
    sortkey: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = field(default=())  # PostgreSQL secondary indexes

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _id(name: str, *, nullable: bool = False, references: str | None = None) -> Column:
    return Column(name, "VARCHAR(64)", nullable=nullable, references=references)


def _in(*values: str) -> str:
    return "IN (" + ", ".join(f"'{v}'" for v in values) + ")"


DIM_DATE = Table(
    "dim_date",
    (
        Column("date_key", "INTEGER", nullable=False),
        Column("full_date", "DATE", nullable=False),
        Column("year", "SMALLINT", nullable=False),
        Column("quarter", "SMALLINT", nullable=False),
        Column("month", "SMALLINT", nullable=False),
        Column("day", "SMALLINT", nullable=False),
        Column("day_of_week", "SMALLINT", nullable=False),  # ISO: 1 = Monday
        Column("is_weekend", "BOOLEAN", nullable=False),
    ),
    primary_key=("date_key",),
    diststyle="ALL",
    sortkey=("date_key",),
)

DIM_TIME = Table(
    "dim_time",
    (
        Column("time_key", "SMALLINT", nullable=False),
        Column("hour", "SMALLINT", nullable=False),
        Column("minute", "SMALLINT", nullable=False),
        Column(
            "day_part", "VARCHAR(16)", nullable=False, check=_in("night", "morning", "afternoon", "evening")
        ),
    ),
    primary_key=("time_key",),
    diststyle="ALL",
    sortkey=("time_key",),
)

DIM_CUSTOMER = Table(
    "dim_customer",
    (_id("customer_id"), Column("account_created", "DATE", nullable=False)),
    primary_key=("customer_id",),
    distkey="customer_id",
    sortkey=("customer_id",),
)

DIM_CARD = Table(
    "dim_card",
    (
        _id("card_id"),
        Column("card_token", "VARCHAR(32)", nullable=False),
        Column("card_type", "VARCHAR(16)", nullable=False),
        Column("issuing_bank", "VARCHAR(256)", nullable=False),
        _id("customer_id", references="dim_customer(customer_id)"),
    ),
    primary_key=("card_id",),
    distkey="card_id",  # co-located with fact_transactions
    sortkey=("card_id",),
    indexes=(("customer_id",),),
)

DIM_MERCHANT = Table(
    "dim_merchant",
    (
        _id("merchant_id"),
        Column("merchant_name", "VARCHAR(512)", nullable=False),
        Column("merchant_category_code", "VARCHAR(4)", nullable=False),
        Column("merchant_category", "VARCHAR(256)", nullable=False),
        Column("merchant_lat", "DOUBLE PRECISION", nullable=False),
        Column("merchant_lon", "DOUBLE PRECISION", nullable=False),
    ),
    primary_key=("merchant_id",),
    diststyle="ALL",
    sortkey=("merchant_id",),
)

DIM_DEVICE = Table(
    "dim_device",
    (_id("device_id"), Column("device_os", "VARCHAR(16)")),
    primary_key=("device_id",),
    distkey="device_id",
    sortkey=("device_id",),
)

DIM_LOCATION = Table(
    "dim_location",
    (
        Column("location_key", "VARCHAR(264)", nullable=False),
        Column("city", "VARCHAR(256)", nullable=False),
        Column("country", "VARCHAR(2)", nullable=False),
    ),
    primary_key=("location_key",),
    diststyle="ALL",
    sortkey=("location_key",),
)

FACT_TRANSACTIONS = Table(
    "fact_transactions",
    (
        _id("transaction_id"),
        Column("event_ts", "TIMESTAMPTZ", nullable=False),
        Column("date_key", "INTEGER", nullable=False, references="dim_date(date_key)"),
        Column("time_key", "SMALLINT", nullable=False, references="dim_time(time_key)"),
        _id("customer_id", references="dim_customer(customer_id)"),
        _id("card_id", references="dim_card(card_id)"),
        _id("merchant_id", references="dim_merchant(merchant_id)"),
        _id("device_id", nullable=True, references="dim_device(device_id)"),  # NULL: card present
        Column("location_key", "VARCHAR(264)", nullable=False, references="dim_location(location_key)"),
        Column("amount", "NUMERIC(12,2)", nullable=False),
        Column("currency", "VARCHAR(3)", nullable=False),
        Column("channel", "VARCHAR(8)", nullable=False),
        Column("entry_mode", "VARCHAR(16)", nullable=False),
        Column("ip_address", "VARCHAR(45)"),
        Column("ip_is_vpn", "BOOLEAN"),
        Column("lat", "DOUBLE PRECISION", nullable=False),
        Column("lon", "DOUBLE PRECISION", nullable=False),
        Column("is_fraud", "BOOLEAN", nullable=False),  # LABEL
        Column("fraud_type", "VARCHAR(32)"),  # LABEL
        Column("analyst_label", "VARCHAR(16)", check=_in("fraud", "legitimate")),
        Column("analyst_labeled_at", "TIMESTAMPTZ"),
        Column("schema_version", "SMALLINT", nullable=False),
        Column("source_object", "VARCHAR(1024)", nullable=False),
        _id("etl_run_id"),
        Column("loaded_at", "TIMESTAMPTZ", nullable=False, default_now=True),
    ),
    primary_key=("transaction_id",),
    distkey="card_id",
    sortkey=("event_ts",),
    indexes=(
        ("event_ts",),
        ("card_id",),
        ("customer_id",),
        ("merchant_id",),
        ("date_key",),
        # migration 6: the rollups' "first pair" / "new device" history probes, one index read each
        ("customer_id", "merchant_id", "event_ts"),
        ("card_id", "device_id", "event_ts"),
    ),
)

FRAUD_PREDICTIONS = Table(
    "fraud_predictions",
    (
        _id("transaction_id", references="fact_transactions(transaction_id)"),
        _id("model_version"),
        Column("score", "DOUBLE PRECISION", nullable=False),
        Column("decision", "VARCHAR(16)", nullable=False),
        Column("scored_at", "TIMESTAMPTZ", nullable=False),
        Column("reason_codes", "JSON"),  # [{"feature": ..., "contribution": ...}, ...]
    ),
    primary_key=("transaction_id", "model_version"),
    distkey="transaction_id",
    sortkey=("scored_at",),
    indexes=(("scored_at",), ("decision",)),
)

FRAUD_ALERTS = Table(
    "fraud_alerts",
    (
        Column("alert_id", "IDENTITY", nullable=False),
        _id("transaction_id", references="fact_transactions(transaction_id)"),
        _id("model_version", nullable=True),
        Column(
            "status", "VARCHAR(16)", nullable=False, check=_in("claimed", "sent", "failed", "dead_lettered")
        ),
        Column("claimed_at", "TIMESTAMPTZ", nullable=False, default_now=True),
        Column("sent_at", "TIMESTAMPTZ"),
        Column("channel", "VARCHAR(16)"),  # email, sns, ...
        Column("message_id", "VARCHAR(256)"),
        Column("analyst_label", "VARCHAR(16)", check=_in("fraud", "legitimate")),
        Column("analyst_feedback", "VARCHAR(1024)"),
        Column("labeled_at", "TIMESTAMPTZ"),
        Column("attempts", "INTEGER", nullable=False, default="0"),  # migration 3 added these two
        Column("last_error", "VARCHAR(1024)"),
        Column("claim_token", "VARCHAR(32)"),  # migration 4: the run that last claimed it
    ),
    primary_key=("alert_id",),
    unique=("transaction_id",),
    distkey="transaction_id",
    sortkey=("claimed_at",),
    indexes=(("status",), ("claimed_at",)),
)

ETL_RUNS = Table(
    "etl_runs",
    (
        _id("run_id"),
        Column("status", "VARCHAR(16)", nullable=False, check=_in("running", "succeeded")),
        Column("started_at", "TIMESTAMPTZ", nullable=False, default_now=True),
        Column("finished_at", "TIMESTAMPTZ"),
        Column("objects_read", "INTEGER"),
        Column("rows_read", "BIGINT"),
        Column("rows_loaded", "BIGINT"),
        Column("duplicates_dropped", "BIGINT"),
        Column("rows_quarantined", "BIGINT"),
    ),
    primary_key=("run_id",),
    diststyle="ALL",
    sortkey=("started_at",),
)

ETL_OBJECTS = Table(
    "etl_objects",
    (
        Column("object_uri", "VARCHAR(1024)", nullable=False),
        _id("run_id", references="etl_runs(run_id)"),
        Column("size_bytes", "BIGINT", nullable=False),
    ),
    primary_key=("object_uri",),
    diststyle="ALL",
    sortkey=("object_uri",),
    indexes=(("run_id",),),
)


def _dims() -> tuple[Column, ...]:
    """The dashboard's filter dimensions, the joint grain of every rollup (see :mod:`.rollups`)."""
    return (
        Column("merchant_category", "VARCHAR(256)", nullable=False),
        Column("card_type", "VARCHAR(16)", nullable=False),
        Column("device_os", "VARCHAR(16)", nullable=False),  # 'card present' without a device
        Column("issuing_bank", "VARCHAR(256)", nullable=False),
    )


_DIM_KEY = ("merchant_category", "card_type", "device_os", "issuing_bank")

ROLLUP_TRANSACTIONS = Table(
    "rollup_transactions",
    (
        Column("date_key", "INTEGER", nullable=False),
        *_dims(),
        Column("transactions", "BIGINT", nullable=False),
        Column("amount", "NUMERIC(18,2)", nullable=False),
        Column("frauds", "BIGINT", nullable=False),
        Column("fraud_amount", "NUMERIC(18,2)", nullable=False),
        Column("alerts_sent", "BIGINT", nullable=False),  # sent before rollup_days.refreshed_at
    ),
    primary_key=("date_key", *_DIM_KEY),
    diststyle="AUTO",
    sortkey=("date_key",),
)

ROLLUP_FRAUDS = Table(
    "rollup_frauds",
    (
        Column("date_key", "INTEGER", nullable=False),
        *_dims(),
        Column("fraud_type", "VARCHAR(32)", nullable=False),  # 'unlabelled': analyst fraud, no type
        Column("frauds", "BIGINT", nullable=False),
        Column("vpn_frauds", "BIGINT", nullable=False),
        Column("first_pair_frauds", "BIGINT", nullable=False),  # first customer-merchant pair
        Column("new_device_frauds", "BIGINT", nullable=False),  # device new to the card
    ),
    primary_key=("date_key", *_DIM_KEY, "fraud_type"),
    diststyle="AUTO",
    sortkey=("date_key",),
)

ROLLUP_PREDICTIONS = Table(
    "rollup_predictions",
    (
        Column("date_key", "INTEGER", nullable=False),
        *_dims(),
        _id("model_version"),
        Column("decision", "VARCHAR(16)", nullable=False),
        Column("score_bin", "SMALLINT", nullable=False),
        Column("is_fraud", "BOOLEAN", nullable=False),  # label, or the analyst's verdict
        Column("predictions", "BIGINT", nullable=False),
        Column("last_scored_at", "TIMESTAMPTZ", nullable=False),
    ),
    primary_key=("date_key", *_DIM_KEY, "model_version", "decision", "score_bin", "is_fraud"),
    diststyle="AUTO",
    sortkey=("date_key",),
)

ROLLUP_DAYS = Table(
    "rollup_days",
    (
        Column("date_key", "INTEGER", nullable=False),
        Column("refreshed_at", "TIMESTAMPTZ", nullable=False),  # alerts sent since: not rolled up yet
        Column("last_event_ts", "TIMESTAMPTZ", nullable=False),
    ),
    primary_key=("date_key",),
    diststyle="ALL",
    sortkey=("date_key",),
)

#: The rollups, in the order migration 5 creates them.
ROLLUPS: tuple[Table, ...] = (ROLLUP_TRANSACTIONS, ROLLUP_FRAUDS, ROLLUP_PREDICTIONS, ROLLUP_DAYS)

#: Drift of live traffic against a model's training reference (migration 7,
#: :mod:`fraudstack.drift`): one row per model version, window and feature (``metric``), or
#: ``metric = 'score'`` with ``kind = 'score'`` for the score distribution.
MODEL_DRIFT = Table(
    "model_drift",
    (
        _id("model_version"),
        Column("window_start", "TIMESTAMPTZ", nullable=False),
        Column("window_end", "TIMESTAMPTZ", nullable=False),
        Column("metric", "VARCHAR(64)", nullable=False),
        Column("kind", "VARCHAR(16)", nullable=False, check=_in("feature", "score")),
        Column("psi", "DOUBLE PRECISION", nullable=False),
        Column("status", "VARCHAR(16)", nullable=False, check=_in("stable", "moderate", "broken")),
        Column("window_rows", "BIGINT", nullable=False),
        Column("measured_at", "TIMESTAMPTZ", nullable=False, default_now=True),
    ),
    primary_key=("model_version", "window_start", "window_end", "metric"),
    diststyle="AUTO",
    sortkey=("window_start",),
    indexes=(("window_start",),),
)

#: Delayed-label performance of each model version per day of its predictions
#: (:mod:`fraudstack.model.performance`, migration 9): recomputed as labels arrive until the
#: day is ``mature`` (its labels have had the maturity to come in), then final.
MODEL_PERFORMANCE = Table(
    "model_performance",
    (
        _id("model_version"),
        Column("window_start", "TIMESTAMPTZ", nullable=False),
        Column("window_end", "TIMESTAMPTZ", nullable=False),
        Column("scored", "BIGINT", nullable=False),
        Column("frauds", "BIGINT", nullable=False),
        Column("flagged", "BIGINT", nullable=False),
        Column("confirmed", "BIGINT", nullable=False),
        Column("flag_precision", "DOUBLE PRECISION"),
        Column("recall_at_budget", "DOUBLE PRECISION"),
        Column("alert_budget", "DOUBLE PRECISION", nullable=False),
        Column("average_precision", "DOUBLE PRECISION"),
        Column("mature", "BOOLEAN", nullable=False),
        Column("labels_as_of", "TIMESTAMPTZ", nullable=False),
        Column("measured_at", "TIMESTAMPTZ", nullable=False, default_now=True),
    ),
    primary_key=("model_version", "window_start", "window_end"),
    diststyle="AUTO",
    sortkey=("window_start",),
    indexes=(("window_start",),),
)

#: Label events (:mod:`fraudstack.labels`, migration 8): a verdict on a transaction and when it
#: became known. One row per (transaction, source), so a replayed chargeback changes nothing
#: and a chargeback and an analyst verdict on one transaction both stay. No reference to the
#: facts: a label may be loaded before its transaction (the lake delivers them separately).
FACT_LABELS = Table(
    "fact_labels",
    (
        _id("transaction_id"),
        Column("source", "VARCHAR(16)", nullable=False, check=_in("chargeback", "analyst", "rule")),
        Column("is_fraud", "BOOLEAN", nullable=False),
        Column("known_at", "TIMESTAMPTZ", nullable=False),
        Column("loaded_at", "TIMESTAMPTZ", nullable=False, default_now=True),
    ),
    primary_key=("transaction_id", "source"),
    distkey="transaction_id",
    sortkey=("known_at",),
    indexes=(("known_at",),),
)

#: Every table of the current schema, in dependency order (referenced tables first).
TABLES: tuple[Table, ...] = (
    DIM_DATE,
    DIM_TIME,
    DIM_CUSTOMER,
    DIM_CARD,
    DIM_MERCHANT,
    DIM_DEVICE,
    DIM_LOCATION,
    FACT_TRANSACTIONS,
    FRAUD_PREDICTIONS,
    FRAUD_ALERTS,
    ETL_RUNS,
    ETL_OBJECTS,
    *ROLLUPS,
    MODEL_DRIFT,
    FACT_LABELS,
    MODEL_PERFORMANCE,
)


def table(name: str) -> Table:
    """The definition of table ``name`` (KeyError if it is not part of the schema)."""
    for candidate in TABLES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def _column_sql(dialect: Dialect, col: Column) -> str:
    parts = [col.name, column_type(dialect, col.type)]
    if col.default_now:
        parts.append(f"DEFAULT {default_now(dialect)}")
    elif col.default is not None:
        parts.append(f"DEFAULT {col.default}")
    if not col.nullable:
        parts.append("NOT NULL")
    if col.check and supports_checks(dialect):
        parts.append(f"CHECK ({col.name} {col.check})")
    if col.references:
        parts.append(f"REFERENCES {col.references}")
    return " ".join(parts)


def create_table_sql(dialect: Dialect, tbl: Table) -> str:
    """``CREATE TABLE IF NOT EXISTS`` with keys, and Redshift's distribution and sort keys."""
    lines = [f"    {_column_sql(dialect, c)}" for c in tbl.columns]
    lines.append(f"    PRIMARY KEY ({', '.join(tbl.primary_key)})")
    if tbl.unique:
        lines.append(f"    UNIQUE ({', '.join(tbl.unique)})")
    body = ",\n".join(lines)
    suffix = ""
    if dialect is Dialect.REDSHIFT:
        suffix = f"\nDISTSTYLE {tbl.diststyle}"
        if tbl.distkey:
            suffix += f"\nDISTKEY ({tbl.distkey})"
        if tbl.sortkey:
            suffix += f"\nSORTKEY ({', '.join(tbl.sortkey)})"
    return f"CREATE TABLE IF NOT EXISTS {tbl.name} (\n{body}\n){suffix};"


def index_sql(dialect: Dialect, tbl: Table) -> list[str]:
    """PostgreSQL indexes serving the access paths Redshift's sort/dist keys serve."""
    if dialect is Dialect.REDSHIFT:
        return []
    return [
        f"CREATE INDEX IF NOT EXISTS ix_{tbl.name}_{'_'.join(cols)} ON {tbl.name} ({', '.join(cols)});"
        for cols in tbl.indexes
    ]


def render_ddl(dialect: Dialect, tables: Sequence[Table] = TABLES) -> str:
    """The DDL of ``tables`` for ``dialect``: every statement ends with ``;`` on its own line."""
    statements: list[str] = []
    for tbl in tables:
        statements.append(create_table_sql(dialect, tbl))
        statements.extend(index_sql(dialect, tbl))
    return "\n\n".join(statements) + "\n"
