"""Versioned, idempotent schema migrations (``fraudstack warehouse migrate``).

Why versions rather than ``CREATE IF NOT EXISTS`` alone: later changes (a new column, an
index) must reach warehouses that already hold data, exactly once and in order. Each
migration is a version number, a name and its SQL per dialect; applied versions are
recorded in ``schema_migrations`` with a checksum of the SQL that ran, so an edited,
already-applied migration is detected instead of silently diverging.

Adding a change: append a :class:`Migration` with the next version whose SQL makes the
change (``ALTER TABLE ...``) and update :mod:`.star_schema` to the new shape; then regenerate the
files under ``fraudstack/data/warehouse/`` with ``python -m fraudstack.warehouse``. Migration 1 renders
the current table definitions except those a later migration changed, which it renders
from a frozen copy of their version-1 shape (so its checksum never changes): so far
``fraud_alerts`` (migration 3). Migration 2 only drops constraints, which :mod:`.star_schema`
keeps declaring for the loader's checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from fraudstack.errors import FraudstackError
from fraudstack.packagedata import data_file
from fraudstack.warehouse.dialect import Dialect, default_now, lock_for_migrations
from fraudstack.warehouse.rollups import build_sql
from fraudstack.warehouse.star_schema import (
    FACT_LABELS,
    MODEL_DRIFT,
    MODEL_PERFORMANCE,
    ROLLUPS,
    TABLES,
    Column,
    Table,
    index_sql,
    render_ddl,
    table,
)

if TYPE_CHECKING:
    from fraudstack.warehouse.connection import Warehouse

#: Rendered migrations, one folder per dialect (``V001__star_schema.sql``...).
DDL_DIR = Path(str(data_file("warehouse")))

LEDGER = "schema_migrations"
_LEDGER_DDL = (
    f"CREATE TABLE IF NOT EXISTS {LEDGER} (version INTEGER NOT NULL PRIMARY KEY, "
    "name VARCHAR(128) NOT NULL, checksum VARCHAR(64) NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
)


@dataclass(frozen=True)
class Migration:
    """One schema version: its SQL is a function of the dialect."""

    version: int
    name: str
    render: Callable[[Dialect], str]

    def sql(self, dialect: Dialect) -> str:
        return self.render(dialect)

    def checksum(self, dialect: Dialect) -> str:
        return hashlib.sha256(self.sql(dialect).encode()).hexdigest()

    def filename(self) -> str:
        return f"V{self.version:03d}__{self.name}.sql"


#: The fact columns whose PostgreSQL foreign keys migration 2 drops (frozen: its checksum).
_LOADER_CHECKED_FACT_REFERENCES = (
    "date_key",
    "time_key",
    "customer_id",
    "card_id",
    "merchant_id",
    "device_id",
    "location_key",
)


def _loader_checks_fact_references(dialect: Dialect) -> str:
    """Drop the per-row foreign-key triggers of ``fact_transactions`` on PostgreSQL.

    Why: checking seven keys row by row cost more than the insert itself (26 s of a 1M-row
    load). :meth:`~fraudstack.warehouse.connection.Warehouse.upsert` now checks every declared
    reference of the staged rows with one anti-join per key, on both engines, before the
    insert - so Redshift, whose keys are informational only, gets the check too.
    """
    if dialect is Dialect.REDSHIFT:
        return "-- Nothing to drop: Redshift's foreign keys are informational.\n"
    return "".join(
        f"ALTER TABLE fact_transactions DROP CONSTRAINT IF EXISTS fact_transactions_{column}_fkey;\n"
        for column in _LOADER_CHECKED_FACT_REFERENCES
    )


#: ``fraud_alerts`` as migration 1 created it (frozen: its checksum).
_FRAUD_ALERTS_V1 = Table(
    "fraud_alerts",
    (
        Column("alert_id", "IDENTITY", nullable=False),
        Column(
            "transaction_id", "VARCHAR(64)", nullable=False, references="fact_transactions(transaction_id)"
        ),
        Column("model_version", "VARCHAR(64)"),
        Column("status", "VARCHAR(16)", nullable=False, check="IN ('claimed', 'sent')"),
        Column("claimed_at", "TIMESTAMPTZ", nullable=False, default_now=True),
        Column("sent_at", "TIMESTAMPTZ"),
        Column("channel", "VARCHAR(16)"),
        Column("message_id", "VARCHAR(256)"),
        Column("analyst_label", "VARCHAR(16)", check="IN ('fraud', 'legitimate')"),
        Column("analyst_feedback", "VARCHAR(1024)"),
        Column("labeled_at", "TIMESTAMPTZ"),
    ),
    primary_key=("alert_id",),
    unique=("transaction_id",),
    distkey="transaction_id",
    sortkey=("claimed_at",),
    indexes=(("status",), ("claimed_at",)),
)


#: The fact indexes migration 1 created (frozen: its checksum); migration 6 added two.
_FACT_INDEXES_V1 = (("event_ts",), ("card_id",), ("customer_id",), ("merchant_id",), ("date_key",))


def _v1(tbl: Table) -> Table:
    """``tbl`` as migration 1 created it."""
    if tbl.name == _FRAUD_ALERTS_V1.name:
        return _FRAUD_ALERTS_V1
    if tbl.name == "fact_transactions":
        return replace(tbl, indexes=_FACT_INDEXES_V1)
    return tbl


def _star_schema(dialect: Dialect) -> str:
    """Every table as migration 1 created it (rollups came with migration 5, drift 7, labels 8,
    performance 9)."""
    later = (*ROLLUPS, MODEL_DRIFT, FACT_LABELS, MODEL_PERFORMANCE)
    return render_ddl(dialect, [_v1(t) for t in TABLES if t not in later])


def _alert_attempts(dialect: Dialect) -> str:
    """Count each alert's attempts and keep its last error; allow ``failed`` and ``dead_lettered``.

    Why: an alert whose content breaks the run (say, a render error) was retried by every
    run, forever, and took the rest of that run's alerts down with it. Now a failed alert is
    recorded as ``failed`` (retried by the next run) and, after a few attempts,
    ``dead_lettered`` (:mod:`fraudstack.alerts.dispatch`). Redshift does not enforce checks.
    """
    columns = (
        "ALTER TABLE fraud_alerts ADD COLUMN attempts INTEGER DEFAULT 0 NOT NULL;\n"
        "ALTER TABLE fraud_alerts ADD COLUMN last_error VARCHAR(1024);\n"
    )
    if dialect is Dialect.REDSHIFT:
        return columns
    return columns + (
        "ALTER TABLE fraud_alerts DROP CONSTRAINT IF EXISTS fraud_alerts_status_check;\n"
        "ALTER TABLE fraud_alerts ADD CONSTRAINT fraud_alerts_status_check "
        "CHECK (status IN ('claimed', 'sent', 'failed', 'dead_lettered'));\n"
    )


def _alert_claim_tokens(_dialect: Dialect) -> str:
    """Tag each claim with the dispatch run that made it.

    Why: a run found its claims with ``INSERT/UPDATE ... RETURNING``, which Redshift lacks;
    now it claims under ``LOCK fraud_alerts`` with its own token and reads the rows back by
    the token, the same SQL on both engines (:mod:`fraudstack.alerts.dispatch`).
    """
    return "ALTER TABLE fraud_alerts ADD COLUMN claim_token VARCHAR(32);\n"


def _dashboard_rollups(dialect: Dialect) -> str:
    """Create the daily rollups the dashboard reads and build them from what is loaded.

    Why: every dashboard view aggregated the facts on each filter change, at a cost that grew
    with the fact table; the rollups hold the same sums per day at the joint grain of the
    dashboard's filters (:mod:`.rollups`). The build uses the rollup SQL as of this
    migration: if that SQL changes, freeze a copy here and rebuild in a new migration.
    """
    return render_ddl(dialect, ROLLUPS) + build_sql(default_now(dialect))


def _rollup_refresh_indexes(dialect: Dialect) -> str:
    """PostgreSQL indexes for the rollups' history probes (Redshift has none; it hash-joins).

    Why: recomputing a day's "first customer-merchant pair" and "new device" flags probes each
    fraud's earlier transactions; with single-column indexes that read ~200 rows per fraud
    (3.4 s of a 7 s day refresh at 10M facts), with these it reads one index entry.
    """
    facts = table("fact_transactions")
    return (
        "".join(
            statement + "\n"
            for statement in index_sql(
                dialect, replace(facts, indexes=facts.indexes[len(_FACT_INDEXES_V1) :])
            )
        )
        or "-- Nothing to do: Redshift has no secondary indexes.\n"
    )


def _model_drift(dialect: Dialect) -> str:
    """Create ``model_drift``, where the drift job stores each window's PSI per feature and score.

    Why a table: CloudWatch keeps the metrics for alarms, but the dashboard's model-health
    view and the promotion gate need the history per model version, queryable beside the
    predictions (:mod:`fraudstack.drift`).
    """
    return render_ddl(dialect, [MODEL_DRIFT])


def _fact_labels(dialect: Dialect) -> str:
    """Create ``fact_labels``: label events with the time each became known.

    Why a table of its own rather than ``fact_transactions.is_fraud``: a chargeback arrives
    days to weeks after its transaction and an analyst verdict hours after, and training and
    the delayed-label features may use a label only from the time it was known. The ETL loads
    the lake's ``labels/`` objects into it; the dashboard adds analysts' verdicts.
    """
    return render_ddl(dialect, [FACT_LABELS])


def _model_performance(dialect: Dialect) -> str:
    """Create ``model_performance``: each model version's delayed-label figures per day.

    Why stored: labels arrive days after the predictions, so the figures change until a day
    is mature; the dashboard's model-health view and the automatic rollback read the same
    rows rather than each recomputing them (:mod:`fraudstack.model.performance`).
    """
    return render_ddl(dialect, [MODEL_PERFORMANCE])


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "star_schema", _star_schema),
    Migration(2, "loader_checks_fact_references", _loader_checks_fact_references),
    Migration(3, "alert_attempts", _alert_attempts),
    Migration(4, "alert_claim_tokens", _alert_claim_tokens),
    Migration(5, "dashboard_rollups", _dashboard_rollups),
    Migration(6, "rollup_refresh_indexes", _rollup_refresh_indexes),
    Migration(7, "model_drift", _model_drift),
    Migration(8, "fact_labels", _fact_labels),
    Migration(9, "model_performance", _model_performance),
)


def statements(sql: str) -> list[str]:
    """Split rendered DDL on ``;`` at line ends (our DDL has no ``;`` inside statements).

    ``--`` comment lines are dropped: a migration may be a comment alone on one dialect.
    """
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in (code + "\n").split(";\n") if s.strip().rstrip(";")]


def applied_versions(wh: Warehouse) -> dict[int, str]:
    """Version -> checksum of every applied migration (empty on a fresh warehouse)."""
    wh.execute(_LEDGER_DDL)
    return {int(v): str(c) for v, c in wh.query(f"SELECT version, checksum FROM {LEDGER}")}


def migrate(wh: Warehouse) -> list[int]:
    """Apply pending migrations in order, each in its own transaction; return their versions.

    Safe to run concurrently (a lock serialises runs) and repeatedly (applied versions are
    skipped). Raises :class:`~fraudstack.errors.FraudstackError` when an applied migration's
    SQL has changed since it ran.
    """
    wh.execute(_LEDGER_DDL)
    wh.commit()
    done: list[int] = []
    for migration in MIGRATIONS:
        wh.execute(lock_for_migrations(wh.dialect, LEDGER))
        applied = applied_versions(wh)  # read under the lock: another run may have won
        checksum = migration.checksum(wh.dialect)
        if migration.version in applied:
            if applied[migration.version] != checksum:
                wh.rollback()
                raise FraudstackError(
                    f"warehouse migration {migration.version} ({migration.name}) changed after it "
                    "was applied; add a new migration instead of editing an applied one"
                )
            wh.commit()
            continue
        for statement in statements(migration.sql(wh.dialect)):
            wh.execute(statement)
        wh.execute(
            f"INSERT INTO {LEDGER} (version, name, checksum, applied_at) "
            f"VALUES (%s, %s, %s, {default_now(wh.dialect)})",
            (migration.version, migration.name, checksum),
        )
        wh.commit()
        done.append(migration.version)
    return done


def render_files(root: Path = DDL_DIR) -> dict[Path, str]:
    """Path -> text of every rendered migration file (what ``fraudstack/data/warehouse/`` must hold)."""
    return {
        root / dialect.value / migration.filename(): migration.sql(dialect)
        for dialect in Dialect
        for migration in MIGRATIONS
    }
