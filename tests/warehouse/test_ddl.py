"""The two DDL dialects describe the same tables, with Redshift's chosen physical design."""

from __future__ import annotations

import re

import pytest

from fraudstack.warehouse import TABLES, Dialect
from fraudstack.warehouse.migrations import DDL_DIR, MIGRATIONS, render_files, statements

_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \(\n(.*?)\n\)(.*)", re.S)


def _parse(dialect: Dialect) -> dict[str, tuple[list[str], str]]:
    """Table -> (column names, text after the column list) from the committed DDL files."""
    tables: dict[str, tuple[list[str], str]] = {}
    for path in sorted((DDL_DIR / dialect.value).glob("V*.sql")):
        for stmt in statements(path.read_text()):
            match = _CREATE.match(stmt)
            if match:
                lines = [line.strip() for line in match.group(2).splitlines()]
                cols = [line.split()[0] for line in lines if not line.startswith(("PRIMARY KEY", "UNIQUE"))]
                tables[match.group(1)] = (cols, match.group(3))
    return tables


def test_ddl_files_are_the_rendered_migrations() -> None:
    for path, text in render_files().items():
        assert path.read_text() == text, f"{path} is stale: run python -m fraudstack.warehouse"
    assert {p.name for p in (DDL_DIR / "postgres").glob("V*.sql")} == {m.filename() for m in MIGRATIONS}


def test_both_dialects_define_the_same_tables_and_columns() -> None:
    postgres, redshift = _parse(Dialect.POSTGRES), _parse(Dialect.REDSHIFT)
    assert {t: c for t, (c, _) in postgres.items()} == {t: c for t, (c, _) in redshift.items()}
    assert set(postgres) == {t.name for t in TABLES}
    assert set(postgres) >= {
        "dim_customer", "dim_card", "dim_merchant", "dim_device", "dim_location", "dim_date",
        "dim_time", "fact_transactions", "fraud_predictions", "fraud_alerts",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("table", "design"),
    [
        ("fact_transactions", "DISTSTYLE KEY\nDISTKEY (card_id)\nSORTKEY (event_ts)"),
        ("dim_card", "DISTSTYLE KEY\nDISTKEY (card_id)\nSORTKEY (card_id)"),
        ("fraud_predictions", "DISTSTYLE KEY\nDISTKEY (transaction_id)\nSORTKEY (scored_at)"),
        ("fraud_alerts", "DISTSTYLE KEY\nDISTKEY (transaction_id)\nSORTKEY (claimed_at)"),
        ("dim_date", "DISTSTYLE ALL\nSORTKEY (date_key)"),
        ("dim_time", "DISTSTYLE ALL\nSORTKEY (time_key)"),
        ("dim_merchant", "DISTSTYLE ALL\nSORTKEY (merchant_id)"),
        ("dim_location", "DISTSTYLE ALL\nSORTKEY (location_key)"),
    ],
)
def test_redshift_distribution_and_sort_keys(table: str, design: str) -> None:
    assert _parse(Dialect.REDSHIFT)[table][1].strip() == design


def test_postgres_has_matching_indexes_and_no_redshift_syntax() -> None:
    text = "\n".join(p.read_text() for p in (DDL_DIR / "postgres").glob("V*.sql"))
    assert "DISTKEY" not in text and "SORTKEY" not in text and "IDENTITY(1,1)" not in text
    for index in (
        "fact_transactions (event_ts)",
        "fact_transactions (card_id)",
        "fraud_predictions (scored_at)",
    ):
        assert f"ON {index};" in text
    redshift = "\n".join(p.read_text() for p in (DDL_DIR / "redshift").glob("V*.sql"))
    assert "CREATE INDEX" not in redshift and "CHECK (" not in redshift and "JSONB" not in redshift
