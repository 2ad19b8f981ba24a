"""The warehouse: star schema, migrations and the one access module (PostgreSQL | Redshift).

Public API (everything else here is internal)::

    from fraudstack.warehouse import connect, migrate, CsvParts

    with connect(settings) as wh:                 # commits on success, rolls back on error
        migrate(wh)                               # idempotent; returns versions applied now
        wh.query("SELECT count(*) FROM fact_transactions WHERE event_ts >= %s", (since,))
        wh.execute("UPDATE fraud_alerts SET status = %s WHERE alert_id = %s", ("sent", 7))
        wh.upsert("fraud_predictions", rows)      # staging + ON CONFLICT / MERGE
        wh.copy("some_table", columns, CsvParts("s3://bucket/prefix/"))
        rollups.refresh(wh, [20260105])           # recompute the dashboard's rollups of a day

Tables: see :data:`fraudstack.warehouse.star_schema.TABLES` (``python -m fraudstack.warehouse``
re-renders the DDL files under ``fraudstack/data/warehouse/``).
"""

from fraudstack.warehouse import rollups
from fraudstack.warehouse.connection import LoadResult, Staged, Warehouse, connect
from fraudstack.warehouse.dialect import Dialect
from fraudstack.warehouse.load import SPARK_CSV_OPTIONS, CsvParts
from fraudstack.warehouse.migrations import MIGRATIONS, applied_versions, migrate
from fraudstack.warehouse.star_schema import TABLES, Table, table

__all__ = [
    "MIGRATIONS",
    "SPARK_CSV_OPTIONS",
    "TABLES",
    "CsvParts",
    "Dialect",
    "LoadResult",
    "Staged",
    "Table",
    "Warehouse",
    "applied_versions",
    "connect",
    "migrate",
    "rollups",
    "table",
]
