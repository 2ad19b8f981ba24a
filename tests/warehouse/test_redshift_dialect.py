"""Every SQL statement the aws target can run is Redshift SQL, not PostgreSQL that happens to work.

PostgreSQL stands in for Redshift locally, and it accepts much that Redshift rejects
(``ON CONFLICT``, ``RETURNING``, row locks, arrays, ``jsonb``...), so a statement can pass
every local test and fail on its first AWS run. This test collects the statements of the
modules that run on AWS - SQL literals and f-strings in their source, the SQL the dialect
module writes for Redshift, and the Redshift migrations - and checks each against:

* an explicit list of PostgreSQL-only constructs, each with what to use instead;
* sqlglot's Redshift dialect, with unsupported features raised rather than dropped.

Code that runs only against PostgreSQL says so the way the warehouse code already does
(``if dialect is Dialect.POSTGRES:`` branches, or the rest of a block after
``if dialect is Dialect.REDSHIFT: return ...``), and the scan skips exactly that.
The same statements run on PostgreSQL in the local tests (dispatch, loads, dashboard), which
is the other half: one spelling that both engines accept.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

from fraudstack.warehouse import dialect
from fraudstack.warehouse.dialect import Dialect
from fraudstack.warehouse.migrations import DDL_DIR

ROOT = Path(__file__).resolve().parents[2]
#: Modules whose SQL can run on the aws target (the embedded stack's own code is not here).
AWS_SQL_SOURCES = (
    "fraudstack/alerts",
    "fraudstack/warehouse",
    "fraudstack/pipeline.py",
    "fraudstack/drift.py",
    "fraudstack/jobs",
    "fraudstack/provisioning/cloudformation.py",
    "fraudstack/dashboard",
)
REDSHIFT_MIGRATIONS = DDL_DIR / "redshift"

#: PostgreSQL-only constructs Redshift rejects (or reads differently), and what to write instead.
POSTGRES_ONLY: dict[str, str] = {
    r"\bON\s+CONFLICT\b": "keys are not enforced: MERGE, or INSERT ... WHERE NOT EXISTS under LOCK",
    r"\bRETURNING\b": "no RETURNING: mark rows with a token, then SELECT them",
    r"\bSKIP\s+LOCKED\b": "no row locks: LOCK the table for the transaction",
    r"\bFOR\s+(?:UPDATE|SHARE|NO\s+KEY\s+UPDATE)\b": "no row locks: LOCK the table for the transaction",
    r"(?:=|<>|!=)\s*(?:ANY|ALL|SOME)\s*\(": "no arrays: IN (...)",
    r"\bJSONB\b|->>?|\bjsonb?_\w+\s*\(|\bto_jsonb?\s*\(": "no jsonb: JSON_EXTRACT_PATH_TEXT on VARCHAR",
    r"\bDISTINCT\s+ON\b": "ROW_NUMBER() OVER (...) = 1",
    r"\bFILTER\s*\(\s*WHERE\b": "no aggregate FILTER: SUM(CASE WHEN ... END)",
    r"\bgenerate_series\s*\(": "leader-node only: a numbers table or a recursive CTE",
    r"\bGENERATED\b.*\bAS\s+IDENTITY\b": "IDENTITY(1,1)",
    r"\b(?:BIG)?SERIAL\b": "IDENTITY(1,1)",
    r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\b": "no secondary indexes: SORTKEY / DISTKEY",
    r"\bFROM\s+STDIN\b": "COPY ... FROM 's3://...' IAM_ROLE ...",
    r"\bnow\s*\(\s*\)": "leader-node only: GETDATE()",
    r"\bpg_advisory\w*\s*\(|\bhashtext\s*\(": "PostgreSQL locking function: LOCK the table",
    r"\bON\s+COMMIT\s+DROP\b|\bWITH\s+NO\s+DATA\b": "CREATE TEMP TABLE ... AS SELECT ... WHERE FALSE",
    r"\bCHECK\s*\(": "no CHECK constraints",
    r"\bLATERAL\b": "no LATERAL joins",
    r"\b(?:string_agg|array_agg|unnest)\s*\(": "LISTAGG; no arrays",
    r"\bdate_bin\s*\(": "DATE_TRUNC",
    r"\bTABLESAMPLE\b": "no TABLESAMPLE",
}
#: Our SQL keywords are upper case; prose in messages and docstrings is not.
_SQL_START = re.compile(
    r"^\s*(?:SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|COPY|LOCK|TRUNCATE)\s"
)
#: Functions that write SQL for PostgreSQL only, and why nothing on the aws target calls them.
POSTGRES_ONLY_FUNCTIONS: dict[str, str] = {
    "fraudstack/warehouse/dialect.py::copy_from_stdin": "Warehouse.copy calls it only on PostgreSQL",
}


@dataclass(frozen=True)
class Statement:
    where: str
    sql: str
    complete: bool = True  # False for an f-string: its holes are stand-in names


def _dialect_test(test: ast.expr) -> tuple[str, bool] | None:
    """For ``x is [not] Dialect.Y``: (Y, negated); None for any other condition."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and len(test.comparators) == 1):
        return None
    right = test.comparators[0]
    if not (isinstance(right, ast.Attribute) and ast.unparse(right.value).endswith("Dialect")):
        return None
    if isinstance(test.ops[0], ast.Is):
        return right.attr, False
    if isinstance(test.ops[0], ast.IsNot):
        return right.attr, True
    return None


def _ends_block(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], ast.Return | ast.Raise)


class _Collector:
    """SQL literals of one module, outside PostgreSQL-only branches."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.found: list[Statement] = []

    def block(self, statements: list[ast.stmt], postgres_only: bool) -> None:
        for statement in statements:
            if isinstance(statement, ast.If):
                test = _dialect_test(statement.test)
                if test is not None:
                    name, negated = test
                    body_is_postgres = (name == "POSTGRES") != negated
                    self.block(statement.body, postgres_only or body_is_postgres)
                    self.block(statement.orelse, postgres_only or not body_is_postgres)
                    if not body_is_postgres and _ends_block(statement.body) and not statement.orelse:
                        postgres_only = True  # the rest of this block runs only on PostgreSQL
                    continue
            self.statement(statement, postgres_only)

    def statement(self, statement: ast.stmt, postgres_only: bool) -> None:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if f"{self.where}::{statement.name}" in POSTGRES_ONLY_FUNCTIONS:
                return
            self.block(_without_docstring(statement.body), postgres_only)
            return
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.excepthandler):
                self.block(child.body, postgres_only)
            elif not isinstance(child, ast.stmt):
                self.expression(child, postgres_only)
        for field in ("body", "orelse", "finalbody"):
            nested = getattr(statement, field, None)
            if isinstance(nested, list):
                self.block(nested, postgres_only)

    def expression(self, node: ast.AST, postgres_only: bool) -> None:
        text = _literal(node)
        if text is None:
            for child in ast.iter_child_nodes(node):
                self.expression(child, postgres_only)
        elif not postgres_only and _SQL_START.match(text):
            where = f"{self.where}:{getattr(node, 'lineno', '?')}"
            self.found.append(Statement(where, text, complete=isinstance(node, ast.Constant)))


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        return body[1:]
    return body


def _literal(node: ast.AST) -> str | None:
    """A string constant, or an f-string with its holes as identifiers (``x0``, ``x1``...)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for n, value in enumerate(node.values):
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            else:
                parts.append(f"x{n}")
        return "".join(parts)
    return None


def source_statements() -> Iterator[Statement]:
    for source in AWS_SQL_SOURCES:
        path = ROOT / source
        for file in sorted([path] if path.is_file() else path.rglob("*.py")):
            tree = ast.parse(file.read_text(), filename=str(file))
            body = [
                s for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
            ]
            collector = _Collector(str(file.relative_to(ROOT)))
            collector.block(body, postgres_only=False)
            yield from collector.found


def generated_statements() -> Iterator[Statement]:
    """What the dialect module writes for Redshift."""
    redshift = Dialect.REDSHIFT
    columns, key = ["transaction_id", "score", "decision"], ["transaction_id"]
    yield Statement("dialect.create_staging", dialect.create_staging(redshift, "s", "t", columns))
    yield Statement("dialect.copy_from_s3", dialect.copy_from_s3("t", columns))
    for update in (True, False):
        yield Statement(
            f"dialect.upsert(update={update})",
            dialect.upsert(redshift, "t", "s", columns, key, update=update),
        )
    yield Statement("dialect.first_orphan", dialect.first_orphan("s", [("card_id", "dim_card(card_id)")]))
    yield Statement("dialect.lock_for_migrations", dialect.lock_for_migrations(redshift, "schema_migrations"))


def migration_statements() -> Iterator[Statement]:
    for file in sorted(REDSHIFT_MIGRATIONS.glob("*.sql")):
        for n, sql in enumerate(s for s in file.read_text().split(";") if s.strip()):
            yield Statement(f"{file.relative_to(ROOT)}#{n + 1}", sql)


ALL = [*source_statements(), *generated_statements(), *migration_statements()]


def _problems(sql: str, complete: bool = True) -> list[str]:
    text = re.sub(r"--[^\n]*", "", sql)
    found = [
        f"{why} (found {m.group(0)!r})"
        for pattern, why in POSTGRES_ONLY.items()
        for m in [re.search(pattern, text, re.IGNORECASE)]
        if m
    ]
    if not complete:
        return found
    runnable = text.replace("%s", "NULL").replace("%%", "%")
    try:
        sqlglot.transpile(runnable, read="redshift", write="redshift", unsupported_level=ErrorLevel.RAISE)
    except (ParseError, UnsupportedError) as exc:
        found.append(f"not Redshift SQL to sqlglot: {str(exc).splitlines()[0]}")
    return found


def test_the_scan_finds_the_statements() -> None:
    """Guard against a scan that silently finds nothing (the test would pass vacuously)."""
    where = {s.where.split(":")[0].split("#")[0] for s in ALL}
    assert len(ALL) >= 30, len(ALL)
    expected = {
        "fraudstack/alerts/dispatch.py",
        "fraudstack/dashboard/queries.py",
        "fraudstack/jobs/inference.py",
    }
    assert expected <= where, where


@pytest.mark.parametrize(
    "sample",
    [
        "INSERT INTO t (a) SELECT a FROM s ON CONFLICT (a) DO NOTHING",
        "SELECT a FROM t WHERE a = ANY(%s) FOR UPDATE SKIP LOCKED",
    ],
)
def test_the_check_catches_postgresql_only_sql(sample: str) -> None:
    assert _problems(sample)


def test_every_statement_the_aws_target_runs_is_redshift_sql() -> None:
    failures = [
        f"{s.where}: {problem}\n    {' '.join(s.sql.split())[:160]}"
        for s in ALL
        for problem in _problems(s.sql, s.complete)
    ]
    assert not failures, f"{len(failures)} PostgreSQL-only statements:\n" + "\n".join(failures)
