"""``fraudstack warehouse migrate|status`` and ``fraudstack etl``.

Why together: both are the warehouse side of the pipeline. ``etl`` runs the very job Glue
runs (:mod:`fraudstack.jobs.etl`), in this process on a local Spark session, and prints
the run's summary.
"""

from __future__ import annotations

import typer

from fraudstack.settings import load_settings
from fraudstack.warehouse import MIGRATIONS, applied_versions, connect, migrate

warehouse_app = typer.Typer(
    help="Warehouse schema (PostgreSQL locally, Redshift on AWS).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(warehouse_app, name="warehouse")
    app.command("etl", help="Run the Glue ETL cleaning job locally: raw S3 -> curated + warehouse.")(etl)


@warehouse_app.command("migrate")
def migrate_command() -> None:
    """Apply pending schema migrations (idempotent)."""
    with connect(load_settings()) as wh:
        done = migrate(wh)
        typer.echo(
            f"applied {', '.join(f'V{v:03d}' for v in done)}" if done else "warehouse schema is up to date"
        )


@warehouse_app.command("status")
def status_command() -> None:
    """List migrations and whether each is applied."""
    with connect(load_settings()) as wh:
        applied = applied_versions(wh)
        typer.echo(f"warehouse dialect: {wh.dialect.value}")
        for migration in MIGRATIONS:
            state = "applied" if migration.version in applied else "pending"
            typer.echo(f"  {migration.filename():<32} {state}")


def etl() -> None:
    """Run one incremental ETL run and print what it did."""
    from fraudstack.jobs.etl import run
    from fraudstack.spark import spark_session

    settings = load_settings()
    spark = spark_session("fraudstack-etl", settings)
    try:
        summary = run(spark, settings)
        typer.echo(summary.line())
        if summary.stages:
            typer.echo(summary.stage_line())
    finally:
        spark.stop()
