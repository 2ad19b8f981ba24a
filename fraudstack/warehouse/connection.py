"""The warehouse connection every component uses (ETL, inference, Lambda, dashboard).

Why one class: components must not care whether the warehouse is the local PostgreSQL or
Redshift, must never build SQL from values, and must load in bulk. :class:`Warehouse` wraps
one psycopg2 connection (it speaks to both engines) with a small surface:

* :meth:`Warehouse.execute` / :meth:`Warehouse.query` - parameterised SQL only (``%s``).
* :meth:`Warehouse.copy` - bulk load with ``COPY`` (from memory or CSV part files).
* :meth:`Warehouse.upsert` - staging table + ``INSERT ... ON CONFLICT`` / ``MERGE``.
* transactions are explicit: ``commit``/``rollback``; ``with connect(...) as wh`` commits
  when the block succeeds and rolls back when it raises.

Where the connection comes from: ``FRAUDSTACK_WAREHOUSE_DSN`` when set; else, on AWS, the
Secrets Manager secret ``settings.warehouse_secret_name`` (RDS/Redshift key names); else the
local stack's DSN. The engine is detected from the server's version string, so no setting
can disagree with the server.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import psycopg2
import psycopg2.extensions

from fraudstack.aws import client
from fraudstack.errors import ConfigError, FraudstackError
from fraudstack.settings import Settings
from fraudstack.warehouse import dialect as sqlx
from fraudstack.warehouse import secret
from fraudstack.warehouse.dialect import Dialect
from fraudstack.warehouse.load import CsvParts, Rows, rows_to_csv
from fraudstack.warehouse.star_schema import table as table_def


@dataclass(frozen=True)
class LoadResult:
    """What an upsert did: rows staged, and rows inserted or updated in the target."""

    staged: int
    written: int


@dataclass(frozen=True)
class Staged:
    """Rows copied into a staging table of this transaction, waiting for :meth:`Warehouse.merge`."""

    table: str
    staging: str
    columns: tuple[str, ...]
    rows: int


class Warehouse:
    """One open warehouse connection; see the module docstring for the API."""

    def __init__(self, conn: psycopg2.extensions.connection, settings: Settings) -> None:
        self.conn = conn
        self.settings = settings
        version = str(self.query("SELECT version()")[0][0])
        self.dialect = Dialect.REDSHIFT if "Redshift" in version else Dialect.POSTGRES

    # --- plain SQL ------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run one statement with ``%s`` parameters; return the affected row count."""
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return int(cur.rowcount)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one ``SELECT`` with ``%s`` parameters; return all rows."""
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        finally:
            self.close()

    # --- bulk loads -------------------------------------------------------------------------
    def copy(self, table: str, columns: Sequence[str], data: Rows | CsvParts) -> int:
        """Bulk-load ``data`` into ``table`` with ``COPY``; return the rows loaded.

        ``data`` is an iterable of row tuples (in ``columns`` order; ``None`` and ``""`` load
        as NULL) or :class:`CsvParts` (a folder of CSV files in the dialect of
        :data:`~fraudstack.warehouse.load.SPARK_CSV_OPTIONS`, e.g. written by Spark).
        PostgreSQL streams it through ``COPY FROM STDIN``; Redshift copies from S3 (rows are
        uploaded to the staging prefix first).
        """
        if self.dialect is Dialect.REDSHIFT:
            return self._copy_s3(table, columns, data)
        statement = sqlx.copy_from_stdin(table, columns)
        total = 0
        with self.conn.cursor() as cur:
            for stream in data.open(self.settings) if isinstance(data, CsvParts) else [rows_to_csv(data)]:
                cur.copy_expert(statement, stream)
                total += max(cur.rowcount, 0)
        return total

    def _copy_s3(self, table: str, columns: Sequence[str], data: Rows | CsvParts) -> int:
        role = copy_role_for(self.settings)
        if isinstance(data, CsvParts):
            uri = data.uri.rstrip("/") + "/"
        else:
            key = f"{self.settings.warehouse_staging_prefix}{uuid.uuid4().hex}.csv"
            client("s3", self.settings).put_object(
                Bucket=self.settings.bucket, Key=key, Body=rows_to_csv(data).getvalue()
            )
            uri = f"s3://{self.settings.bucket}/{key}"
        self.execute(sqlx.copy_from_s3(table, columns), (uri, role))
        return int(self.query("SELECT pg_last_copy_count()")[0][0])

    def upsert(
        self,
        table: str,
        data: Rows | CsvParts,
        *,
        columns: Sequence[str] | None = None,
        update: bool = True,
    ) -> LoadResult:
        """Load ``data`` into ``table`` through a staging table, keyed on its primary key.

        ``update=True`` overwrites the other columns of existing keys (dimensions, predictions);
        ``update=False`` keeps existing rows (facts: a redelivered ``transaction_id`` is
        dropped). Runs inside the current transaction; the caller commits. Staged keys must be
        unique. ``columns`` defaults to every column of the table. References are checked
        before anything is written (:meth:`check_references`).

        The steps are public for a caller that overlaps them with other work: :meth:`stage`,
        :meth:`check_references`, :meth:`merge` and :meth:`discard`, in any order that checks
        before the transaction commits.
        """
        staged = self.stage(table, data, columns=columns)
        self.check_references(staged)
        result = self.merge(staged, update=update)
        self.discard(staged)
        return result

    def stage(self, table: str, data: Rows | CsvParts, *, columns: Sequence[str] | None = None) -> Staged:
        """Copy ``data`` into a new staging table shaped like ``table`` (nothing is checked yet)."""
        cols = tuple(columns or table_def(table).column_names)
        staging = f"stage_{table}_{uuid.uuid4().hex[:8]}"
        self.execute(sqlx.create_staging(self.dialect, staging, table, cols))
        rows = self.copy(staging, cols, data)
        # Temporary tables get no automatic statistics; without them the reference check
        # plans nested loops (8 s instead of 2 s for 1M staged rows).
        self.execute(f"ANALYZE {staging}")
        return Staged(table, staging, cols, rows)

    def check_references(self, staged: Staged) -> None:
        """Raise if a staged row references a key with no row in the referenced table.

        Every declared reference of the staged columns, for all rows at once (one scan, hash
        joins) rather than per-row foreign-key triggers. The message names the first key
        missing: load the referenced table first.
        """
        definition = table_def(staged.table)
        references = [(c.name, c.references) for c in map(definition.column, staged.columns) if c.references]
        orphans = self.query(sqlx.first_orphan(staged.staging, references)) if references else []
        for row in orphans:
            for (column, target), value, missing in zip(references, row[0::2], row[1::2], strict=True):
                if missing:
                    raise FraudstackError(
                        f"{staged.table}.{column} = {value!r} has no row in {target}; "
                        "load the referenced table first"
                    )

    def merge(self, staged: Staged, *, update: bool = True) -> LoadResult:
        """Write staged rows into their table (``update`` as for :meth:`upsert`)."""
        key = table_def(staged.table).primary_key
        written = self.execute(
            sqlx.upsert(self.dialect, staged.table, staged.staging, staged.columns, key, update=update)
        )
        return LoadResult(staged=staged.rows, written=written)

    def discard(self, staged: Staged) -> None:
        """Drop the staging table now (Redshift keeps temporary tables for the whole session)."""
        self.execute(f"DROP TABLE {staged.staging}")


def secret_params(settings: Settings) -> dict[str, Any]:
    """psycopg2 ``connect`` arguments from the warehouse secret (:mod:`fraudstack.warehouse.secret`)."""
    sm = client("secretsmanager", settings)
    try:
        return secret.decode(sm.get_secret_value(SecretId=settings.warehouse_secret_name)["SecretString"])
    except Exception as exc:
        raise FraudstackError(
            f"cannot read the warehouse secret {settings.warehouse_secret_name!r}: {exc}; "
            "deploy it (fraudstack deploy) or set FRAUDSTACK_WAREHOUSE_DSN"
        ) from exc


def connect(settings: Settings) -> Warehouse:
    """Open the configured warehouse (use as ``with connect(settings) as wh:``)."""
    if settings.warehouse_dsn is not None or settings.is_local:
        params: dict[str, Any] = {"dsn": settings.warehouse_url()}
    else:
        params = secret_params(settings)
    try:
        conn = psycopg2.connect(connect_timeout=10, application_name="fraudstack", **params)
    except psycopg2.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FraudstackError(
            f"cannot connect to the warehouse: {first}; is the stack up (fraudstack stack up)?"
        ) from exc
    return Warehouse(conn, settings)


def copy_role_for(settings: Settings) -> str:
    """The IAM role Redshift's COPY assumes to read staged files (ConfigError when unset).

    Public so the template's settings-contract test can run the same check every Redshift
    load runs first.
    """
    role = settings.warehouse_copy_role_arn
    if not role:
        raise ConfigError(
            "Redshift COPY needs FRAUDSTACK_WAREHOUSE_COPY_ROLE_ARN (an IAM role Redshift may assume)"
        )
    return role
