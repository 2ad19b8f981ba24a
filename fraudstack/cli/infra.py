"""``fraudstack infra render`` and ``fraudstack package``: the AWS template and the code artifacts.

``infra render`` prints the template that ``infra/fraudstack.yaml`` holds (a test keeps the
checked-in copy equal to a fresh render). ``package`` builds the Lambda zip, the Glue scripts
and the Glue library with content-hashed keys, writes them to a folder, and with
``--upload`` puts the new ones in the target's artifacts bucket.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fraudstack.aws import client
from fraudstack.provisioning.aws import artifacts
from fraudstack.provisioning.aws.template import declare_aws, default_settings, render, to_yaml
from fraudstack.settings import Settings, load_settings

infra_app = typer.Typer(help="The AWS CloudFormation template rendered from the resource declaration.")


def aws_settings() -> Settings:
    """The settings of the aws target: the environment's names, AWS's endpoints."""
    return load_settings(target="aws")


@infra_app.command("render")
def render_command(
    defaults: Annotated[
        bool, typer.Option("--defaults", help="ignore the environment: the checked-in infra/fraudstack.yaml")
    ] = False,
) -> None:
    """Print the CloudFormation template (YAML) for the aws target."""
    typer.echo(to_yaml(render(default_settings() if defaults else aws_settings())), nl=False)


def package_command(
    out: Annotated[Path, typer.Option(help="folder to write the artifacts to")] = Path(
        ".fraudstack/artifacts"
    ),
    upload: Annotated[
        bool, typer.Option("--upload", help="also upload new artifacts to the artifacts bucket")
    ] = False,
) -> None:
    """Build the Lambda zip, Glue scripts and Glue library (content-hashed keys, deterministic bytes)."""
    settings = aws_settings()
    package = artifacts.build(declare_aws(settings), artifacts.cache_dir(settings))
    for artifact in package.artifacts:
        path = out / artifact.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(artifact.data)
        typer.echo(f"{artifact.parameter:<28} {artifact.key}  ({len(artifact.data):,} bytes)")
    if upload:
        target = load_settings()  # the configured target: the emulator locally, or AWS
        artifacts.upload(package, client("s3", target), target.artifacts_bucket, typer.echo)


def register(app: typer.Typer) -> None:
    """Add ``infra`` and ``package`` to the ``fraudstack`` command."""
    app.add_typer(infra_app, name="infra")
    app.command("package")(package_command)
