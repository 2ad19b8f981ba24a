"""``fraudstack stack up | down | status | logs | reset``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from fraudstack.embedded import EmbeddedStack, StackStatus
from fraudstack.errors import ConfigError, StackError
from fraudstack.settings import load_settings

stack_app = typer.Typer(help="Start, stop and inspect the embedded stack (Kafka, AWS emulator, PostgreSQL).")


def register(app: typer.Typer) -> None:
    app.add_typer(stack_app, name="stack")


def _print_status(status: StackStatus) -> None:
    for name, server in status.servers.items():
        health = (
            "healthy" if server["healthy"] else ("running, not answering" if server["running"] else "stopped")
        )
        pid = f"pid {server['pid']}" if server["pid"] else "-"
        typer.echo(f"  {name:<10} {health:<24} {server['endpoint']:<32} {pid}")
    typer.echo(f"  KAFKA_BOOTSTRAP_SERVERS={status.kafka_bootstrap_servers}")
    typer.echo(f"  AWS_ENDPOINT_URL={status.aws_endpoint_url}")
    typer.echo(f"  warehouse DSN: {_mask(status.warehouse_dsn)}  (full DSN: fraudstack stack status --json)")
    typer.echo(f"  state and logs: {status.state_dir}")


def _mask(dsn: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", dsn)


@stack_app.command()
def up() -> None:
    """Start every server that is not running, wait until each answers, print the endpoints."""
    stack = EmbeddedStack(load_settings())
    started, already, seconds = stack.up()
    if started:
        typer.echo(f"started {', '.join(started)} in {seconds:.1f}s")
    if already:
        typer.echo(f"already running: {', '.join(already)}")
    for notice in stack.notices:
        typer.echo(notice)
    _print_status(stack.status())


@stack_app.command()
def down() -> None:
    """Stop the servers this stack started (by pid file); leaves everything else alone."""
    stopped = EmbeddedStack(load_settings()).down()
    typer.echo(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


@stack_app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show endpoints and the health of each server; exit 1 if any is unhealthy."""
    current = EmbeddedStack(load_settings()).status()
    if as_json:
        typer.echo(json.dumps(current.as_dict(), indent=2))
    else:
        _print_status(current)
    if not current.healthy:
        raise typer.Exit(1)


@stack_app.command()
def logs(
    server: Annotated[str | None, typer.Argument(help="aws, warehouse or kafka (default: all)")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", min=1)] = 40,
    follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
) -> None:
    """Print (or follow) the last lines of the servers' logs."""
    files = EmbeddedStack(load_settings()).log_files()
    if server is not None and server not in files:
        raise ConfigError(f"unknown server '{server}'; choose one of: {', '.join(files)}")
    chosen = [files[server]] if server else list(files.values())
    existing = [str(path) for path in chosen if path.exists()]
    if not existing:
        typer.echo("no logs yet: run 'fraudstack stack up' first")
        return
    subprocess.run(["tail", "-n", str(lines), *(["-F"] if follow else []), *existing], check=False)


#: What ``stack up`` and the components create in the state directory; ``reset`` removes
#: these and nothing else, so a mistyped FRAUDSTACK_STATE_DIR (say, $HOME) is refused.
_STATE_ENTRIES = frozenset(
    {"run", "logs", "warehouse", "emulator", "secrets", "localaws", "models", "artifacts-cache"}
)


@stack_app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Stop the stack and remove its state (lake, model registry, topics, warehouse, logs): a clean slate."""
    settings = load_settings()
    state = settings.state_path
    if not state.is_dir():
        typer.echo(f"nothing to reset: {state} does not exist")
        return
    foreign = sorted(p.name for p in state.iterdir() if p.name not in _STATE_ENTRIES)
    if foreign:
        raise StackError(
            f"{state} holds files the stack did not create ({', '.join(foreign[:3])}); "
            "check FRAUDSTACK_STATE_DIR, or remove the directory yourself"
        )
    if not yes:
        if not sys.stdin.isatty():
            raise StackError("'stack reset' deletes every piece of local state: confirm with --yes")
        typer.confirm(
            f"Stop the stack and delete {state} (lake, model registry, topics, warehouse, logs)?", abort=True
        )
    stopped = EmbeddedStack(settings).down()
    if stopped:
        typer.echo(f"stopped {', '.join(stopped)}")
    for entry in state.iterdir():
        _remove(entry)
    state.rmdir()
    typer.echo(f"removed {state}: the next 'fraudstack stack up' starts from a clean slate")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
