"""The warehouse access module against the stack's real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from fraudstack.warehouse import TABLES, CsvParts, Dialect, Warehouse, applied_versions, connect, migrate
from tests.conftest import RunningStack


@pytest.fixture(scope="module")
def wh(stack: RunningStack) -> Iterator[Warehouse]:
    with connect(stack.settings) as warehouse:
        migrate(warehouse)
        yield warehouse


def test_migrate_is_idempotent_and_records_versions(wh: Warehouse) -> None:
    assert wh.dialect is Dialect.POSTGRES
    assert migrate(wh) == []
    assert sorted(applied_versions(wh)) == [1]


def test_migrated_schema_matches_the_definition(wh: Warehouse) -> None:
    rows = wh.query(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
    )
    actual: dict[str, list[str]] = {}
    for name, column in rows:
        actual.setdefault(name, []).append(column)
    for table in TABLES:
        assert actual[table.name] == list(table.column_names)


def test_upsert_updates_dimensions_and_keeps_first_fact(wh: Warehouse) -> None:
    first = wh.upsert("dim_customer", [("cust_upsert", date(2020, 1, 1))])
    again = wh.upsert("dim_customer", [("cust_upsert", date(2021, 2, 2)), ("cust_upsert2", date(2022, 3, 3))])
    assert (first.staged, first.written, again.staged, again.written) == (1, 1, 2, 2)
    assert wh.query("SELECT account_created FROM dim_customer WHERE customer_id = %s", ("cust_upsert",)) == [
        (date(2021, 2, 2),)
    ]
    skipped = wh.upsert("dim_customer", [("cust_upsert", date(1999, 1, 1))], update=False)
    assert (skipped.staged, skipped.written) == (1, 0)
    wh.rollback()


def test_copy_loads_nulls_json_and_spark_style_csv_parts(wh: Warehouse, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wh.execute("CREATE TEMP TABLE t (a VARCHAR(10), b BOOLEAN, c TIMESTAMPTZ, d JSONB)")
    n = wh.copy(
        "t",
        ["a", "b", "c", "d"],
        [('x,"y', True, datetime(2026, 1, 1, tzinfo=UTC), {"k": [1]}), (None, None, None, None)],
    )
    (tmp_path / "part-0.csv").write_text('z,false,2026-01-02T03:04:05.000006Z,"[""r""]"\n')
    (tmp_path / "_SUCCESS").write_text("")
    n += wh.copy("t", ["a", "b", "c", "d"], CsvParts(str(tmp_path)))
    assert n == 3
    got = wh.query("SELECT a, b, c, d FROM t ORDER BY a NULLS LAST")
    assert got[0] == ('x,"y', True, datetime(2026, 1, 1, tzinfo=UTC), {"k": [1]})
    assert got[1] == ("z", False, datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), ["r"])
    assert got[2] == (None, None, None, None)
    wh.rollback()


def test_cli_migrate_and_status(wh: Warehouse, capsys: pytest.CaptureFixture[str]) -> None:
    from fraudstack.cli.app import main

    assert main(["warehouse", "migrate"]) == 0
    assert main(["warehouse", "status"]) == 0
    out = capsys.readouterr().out
    assert "warehouse schema is up to date" in out
    assert "V001__star_schema.sql" in out and "applied" in out
