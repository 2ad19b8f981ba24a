"""``fraudstack deploy``: provision every declared AWS resource on the local emulator.

The AWS target (``--target aws --stack NAME [--dry-run]``, CloudFormation change sets from
the same declaration) is added here later; until then a non-local target is refused with
a clear line rather than half-working.
"""

from __future__ import annotations

import typer

from fraudstack.deploy import deploy, format_change, summarize
from fraudstack.errors import ConfigError
from fraudstack.settings import load_settings


def deploy_command() -> None:
    """Create or update every resource the pipeline needs (idempotent: a rerun changes nothing)."""
    settings = load_settings()
    if not settings.is_local:
        raise ConfigError(
            "`fraudstack deploy` provisions the local emulator; deploying to AWS is not available yet "
            "(unset FRAUDSTACK_TARGET=aws)"
        )
    changes = deploy(settings, on_change=lambda change: typer.echo(format_change(change)))
    typer.echo(summarize(changes, settings.aws_endpoint_url or settings.aws_region))


def register(app: typer.Typer) -> None:
    """Add ``deploy`` to the ``fraudstack`` command."""
    app.command("deploy")(deploy_command)
