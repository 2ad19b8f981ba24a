"""The warehouse access module against the stack's real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from fraudstack.errors import FraudstackError
from fraudstack.warehouse import TABLES, CsvParts, Dialect, Warehouse, applied_versions, connect, migrate
from tests.support.stack import RunningStack


@pytest.fixture(scope="module")
def wh(stack: RunningStack) -> Iterator[Warehouse]:
    with connect(stack.settings) as warehouse:
        migrate(warehouse)
        yield warehouse


def test_migrate_is_idempotent_and_records_versions(wh: Warehouse) -> None:
    assert wh.dialect is Dialect.POSTGRES
    assert migrate(wh) == []
    assert sorted(applied_versions(wh)) == [1, 2, 3, 4, 5, 6, 7, 8, 9]


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


def _foreign_keys(wh: Warehouse, table: str) -> set[str]:
    rows = wh.query(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass", (table,)
    )
    return {str(name) for (name,) in rows}


def test_loads_refuse_keys_without_a_referenced_row(wh: Warehouse) -> None:
    # The fact table's dimension keys are checked by the load, not by per-row triggers...
    assert _foreign_keys(wh, "fact_transactions") == set()
    assert _foreign_keys(wh, "fraud_predictions") == {"fraud_predictions_transaction_id_fkey"}
    # ...so a load with a fact whose date has no dim_date row fails as a whole, writing nothing.
    columns = [
        "transaction_id", "event_ts", "date_key", "time_key", "customer_id", "card_id", "merchant_id",
        "location_key", "amount", "currency", "channel", "entry_mode", "lat", "lon", "is_fraud",
        "schema_version", "source_object", "etl_run_id",
    ]  # fmt: skip

    def load_dimensions_but_the_date() -> None:
        wh.upsert("dim_time", [(1200, 12, 0, "afternoon")])
        wh.upsert("dim_customer", [("cust_orphan", date(2020, 1, 1))])
        wh.upsert("dim_card", [("card_orphan", "tok_" + "0" * 24, "debit", "Bank", "cust_orphan")])
        wh.upsert("dim_merchant", [("m_orphan", "Shop", "5411", "Grocery", 48.0, 2.0)])
        wh.upsert("dim_location", [("FR:Paris", "Paris", "FR")])

    load_dimensions_but_the_date()
    fact = [
        "tx_orphan", datetime(1999, 1, 1, 12, tzinfo=UTC), 19990101, 1200, "cust_orphan", "card_orphan",
        "m_orphan", "FR:Paris", 10, "EUR", "pos", "chip", 48.0, 2.0, False, 1, "raw/x", "run_orphan",
    ]  # fmt: skip
    with pytest.raises(
        FraudstackError, match=r"fact_transactions\.date_key = 19990101 has no row in dim_date"
    ):
        wh.upsert("fact_transactions", [fact], columns=columns, update=False)
    wh.rollback()
    assert wh.query("SELECT count(*) FROM fact_transactions WHERE transaction_id = 'tx_orphan'") == [(0,)]
    wh.rollback()

    # Split into steps (the ETL merges facts before their dimensions are loaded), the check
    # runs after the merge and before the commit: the dimension loaded in between satisfies it.
    load_dimensions_but_the_date()
    staged = wh.stage("fact_transactions", [fact], columns=columns)
    assert wh.merge(staged, update=False).written == 1
    with pytest.raises(FraudstackError, match=r"date_key = 19990101 has no row in dim_date"):
        wh.check_references(staged)
    wh.rollback()
    load_dimensions_but_the_date()
    staged = wh.stage("fact_transactions", [fact], columns=columns)
    wh.merge(staged, update=False)
    wh.upsert("dim_date", [(19990101, date(1999, 1, 1), 1999, 1, 1, 1, 5, False)])
    wh.check_references(staged)
    wh.discard(staged)
    assert wh.query("SELECT count(*) FROM fact_transactions WHERE transaction_id = 'tx_orphan'") == [(1,)]
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
