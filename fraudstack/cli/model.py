"""``fraudstack model list|show|promote|rollback|stage|unstage|gate-shadow``: the registry, lineage, shadow.

Why commands over the registry rather than editing ``models/current.json`` by hand: a
pointer moved by hand leaves no record of what replaced what, so nobody can say later why a
version was live, and :func:`~fraudstack.model.registry.rollback` could not find the way
back. These commands move it through :func:`~fraudstack.model.registry.set_current`, which
records the move, its reason and the version it replaced. They make the same boto3 calls on
the embedded stack (emulator S3) as on AWS.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from fraudstack.errors import ConfigError
from fraudstack.settings import load_settings

model_app = typer.Typer(
    help="The model registry: versions, lineage, promotion and rollback.", no_args_is_help=True
)


def _metric(manifest: dict[str, Any], key: str) -> str:
    value = manifest.get("metrics", {}).get(key)
    return "n/a" if value is None else f"{value:.4f}"


@model_app.command("list")
def list_command() -> None:
    """Every published version, oldest first; ``*`` marks the current one."""
    from fraudstack.model import registry

    settings = load_settings()
    current = registry.current_version(settings)
    last = registry.last_actions(settings)
    versions = registry.list_versions(settings)
    if not versions:
        typer.echo(f"no model versions in s3://{registry.bucket(settings)}/{registry.PREFIX}")
        return
    for version in versions:
        manifest = registry.load_manifest(settings, version)
        action, at = last.get(version, ("", ""))
        latest = f"{action} {at[:15]}Z" if action else "published, never promoted"
        typer.echo(
            f"{'*' if version == current else ' '} {version}  features v{manifest.get('feature_version')}  "
            f"AP {_metric(manifest, 'average_precision')}  {latest}"
        )


@model_app.command("show")
def show_command(
    version: Annotated[
        str | None, typer.Argument(help="a registry version (default: the current one)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the manifest and history as JSON")] = False,
) -> None:
    """A version's lineage: data window, feature and code version, metrics, promotions and why."""
    from fraudstack.errors import FraudstackError
    from fraudstack.model import registry

    settings = load_settings()
    chosen = version or registry.current_version(settings)
    if chosen is None:
        raise FraudstackError("no current model: name a version ('fraudstack model list')")
    manifest = registry.load_manifest(settings, chosen)
    events = registry.history(settings, chosen)
    if as_json:
        lineage = {k: v for k, v in manifest.items() if k != "reference"}
        typer.echo(json.dumps({"manifest": lineage, "history": events}, indent=2, sort_keys=True))
        return
    data = manifest.get("data", {})
    windows = data.get("windows", {})
    typer.echo(
        f"version          {chosen}{'  (current)' if chosen == registry.current_version(settings) else ''}"
    )
    typer.echo(f"created          {manifest.get('created_at')}")
    typer.echo(f"code version     {manifest.get('code_version')}")
    typer.echo(
        f"feature version  {manifest.get('feature_version')} ({len(manifest.get('features', []))} features)"
    )
    typer.echo(
        f"training data    {data.get('source')}: {data.get('first_event')} .. {data.get('last_event')}"
    )
    for name, window in windows.items():
        typer.echo(f"  {name:<5} {window['days'][0]} .. {window['days'][1]}  {window['rows']:,} rows")
    typer.echo(
        "test metrics     "
        + ", ".join(f"{k} {_metric(manifest, k)}" for k in ("average_precision", "recall", "precision"))
    )
    typer.echo(f"threshold        {manifest.get('threshold')}")
    typer.echo(
        f"drift reference  {'yes' if 'reference' in manifest else 'none (trained before drift monitoring)'}"
    )
    if not events:
        typer.echo("history          published, never promoted")
    for event in events:
        typer.echo(
            f"history          {event['at'][:19]}Z {event['action']} by {event.get('by')}: {event['reason']}"
        )


@model_app.command("promote")
def promote_command(
    version: Annotated[str, typer.Argument(help="the registry version to make current")],
    reason: Annotated[str, typer.Option(help="why, recorded in the registry's history")] = "promoted by hand",
) -> None:
    """Make a version current by hand (the training gate is bypassed; the reason is recorded)."""
    from fraudstack.errors import FraudstackError
    from fraudstack.features import FEATURE_VERSION
    from fraudstack.model import registry

    if not reason.strip():
        raise ConfigError("--reason must not be empty")
    settings = load_settings()
    manifest = registry.load_manifest(settings, version)
    if manifest.get("feature_version") != FEATURE_VERSION:
        raise FraudstackError(
            f"model {version} uses feature version {manifest.get('feature_version')}, this code computes "
            f"{FEATURE_VERSION}: inference would refuse it"
        )
    if registry.current_version(settings) == version:
        raise FraudstackError(f"model {version} is already current")
    event = registry.set_current(settings, version, reason, by="fraudstack model promote")
    typer.echo(f"current model: {version} (was {event['previous'] or 'none'})")


@model_app.command("rollback")
def rollback_command(
    reason: Annotated[
        str, typer.Option(help="why, recorded in the registry's history")
    ] = "rolled back by hand",
) -> None:
    """Make current again the version the current one replaced."""
    from fraudstack.model import registry

    if not reason.strip():
        raise ConfigError("--reason must not be empty")
    event = registry.rollback(load_settings(), reason)
    typer.echo(f"current model: {event['version']} (rolled back from {event['previous']})")


@model_app.command("stage")
def stage_command(
    version: Annotated[str, typer.Argument(help="the registry version to score in shadow")],
    reason: Annotated[str, typer.Option(help="why, recorded in the registry's history")] = "staged by hand",
) -> None:
    """Stage a challenger: the streaming scorer scores every transaction with it too, deciding nothing."""
    from fraudstack.model import registry

    if not reason.strip():
        raise ConfigError("--reason must not be empty")
    event = registry.stage(load_settings(), version, reason)
    typer.echo(f"challenger in shadow: {version} (champion {event['champion'] or 'none'})")


@model_app.command("unstage")
def unstage_command(
    reason: Annotated[str, typer.Option(help="why, recorded in the registry's history")] = "unstaged by hand",
) -> None:
    """Stop shadow scoring of the staged challenger."""
    from fraudstack.model import registry

    if not reason.strip():
        raise ConfigError("--reason must not be empty")
    event = registry.unstage(load_settings(), reason)
    typer.echo(f"no challenger in shadow ({event['version']} unstaged)")


@model_app.command("gate-shadow")
def gate_shadow_command(
    maturity_days: Annotated[
        float, typer.Option(min=0, help="label age: rows this old, frauds known within it")
    ] = 7.0,
    min_frauds: Annotated[int, typer.Option(min=1, help="fewest mature frauds to judge on")] = 20,
    promote: Annotated[bool, typer.Option(help="promote the challenger when the gate passes it")] = True,
    ap_margin: Annotated[float, typer.Option(min=0)] = 0.005,
    recall_margin: Annotated[float, typer.Option(min=0)] = 0.01,
    alert_budget: Annotated[float, typer.Option(min=0.0001, max=1)] = 0.005,
) -> None:
    """Gate the staged challenger on its shadow scores beside the champion's, once labelled."""
    from datetime import timedelta

    from fraudstack.model.gate import GatePolicy
    from fraudstack.model.shadow import evaluate, release

    settings = load_settings()
    policy = GatePolicy(ap_margin=ap_margin, recall_margin=recall_margin, alert_budget=alert_budget)
    decision, found = evaluate(settings, policy, timedelta(days=maturity_days), min_frauds)
    if not promote:
        rows = f"{len(found.frame):,} shadow rows ({found.frauds} frauds)"
        typer.echo(f"{found.challenger} on {rows}: {decision.reason}")
        return
    typer.echo(release(settings, decision, found, by="fraudstack model gate-shadow"))


def register(app: typer.Typer) -> None:
    """Add ``model`` to the ``fraudstack`` command."""
    app.add_typer(model_app, name="model")
