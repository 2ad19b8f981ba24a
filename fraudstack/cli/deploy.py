"""``fraudstack deploy``: provision every declared AWS resource on the emulator, or on AWS.

Locally (the default) each resource is ensured through the API, idempotently. With
``--target aws --stack NAME`` the same declaration, plus the AWS-only resources, is
rendered as a CloudFormation template and applied through a change set, then bootstrapped
(:mod:`fraudstack.provisioning.cloudformation`); ``--dry-run`` prints the steps and the change set without
applying anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fraudstack.errors import ConfigError
from fraudstack.provisioning.cloudformation import deploy_stack
from fraudstack.provisioning.local import deploy, format_change, summarize
from fraudstack.settings import Target, load_settings


def deploy_command(
    target: Annotated[
        str | None,
        typer.Option(help="embedded, compose or aws (default: FRAUDSTACK_TARGET)", show_default=False),
    ] = None,
    stack: Annotated[str | None, typer.Option(help="CloudFormation stack name (--target aws)")] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="print the bootstrap steps and the change set, apply nothing (aws)"),
    ] = False,
    model: Annotated[
        Path | None,
        typer.Option(help="model directory to publish as the first model, if none is current (aws)"),
    ] = None,
    bootstrap: Annotated[
        bool,
        typer.Option(help="after the template: brokers, migrations, model, then start the services (aws)"),
    ] = True,
) -> None:
    """Create or update every resource the pipeline needs (idempotent: a rerun changes nothing)."""
    if target is not None and target not in Target.__args__:  # type: ignore[attr-defined]
        raise typer.BadParameter(f"--target must be one of {', '.join(Target.__args__)}")  # type: ignore[attr-defined]
    settings = load_settings(target=target) if target else load_settings()
    if not settings.is_local:
        if not stack:
            raise ConfigError(
                "--target aws needs --stack NAME (the CloudFormation stack to create or update)"
            )
        deploy_stack(settings, stack, dry_run, typer.echo, model=model, bootstrap=bootstrap)
        return
    if dry_run or stack or model:
        raise ConfigError(
            "--stack, --dry-run and --model apply to --target aws; a local deploy is idempotent as it is"
        )
    changes = deploy(settings, on_change=lambda change: typer.echo(format_change(change)))
    typer.echo(summarize(changes, settings.aws_endpoint_url or settings.aws_region))


def register(app: typer.Typer) -> None:
    """Add ``deploy`` to the ``fraudstack`` command."""
    app.command("deploy")(deploy_command)
