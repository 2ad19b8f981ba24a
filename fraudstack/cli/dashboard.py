"""``fraudstack dashboard``: serve the Streamlit analyst dashboard (``dashboard/app.py``).

Bound to 127.0.0.1 by default: the dashboard shows transaction data and has no login, so
exposing it (``--host 0.0.0.0``, e.g. in a container behind a proxy) is an explicit choice.
It becomes ``streamlit run`` (Streamlit's supported entry point, by ``exec``) with the
settings handed down unchanged.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from fraudstack.errors import ConfigError
from fraudstack.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_SCRIPT = REPO_ROOT / "dashboard" / "app.py"


def streamlit_command(host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line: headless, no file watcher, no usage statistics, no dev menu."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.headless=true",
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=viewer",
    ]


def _environment(settings: Settings) -> dict[str, str]:
    env = {**os.environ, **settings.subprocess_env()}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def dashboard_command(
    host: Annotated[str, typer.Option(help="address to listen on (0.0.0.0 exposes it to the network)")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="port (default: FRAUDSTACK_DASHBOARD_PORT, 8501)")
    ] = None,
) -> None:
    """Serve the analyst dashboard until interrupted."""
    settings = load_settings()
    if not APP_SCRIPT.is_file():
        raise ConfigError(f"dashboard app not found at {APP_SCRIPT}; run fraudstack from a source checkout")
    chosen = port or settings.dashboard_port
    typer.echo(f"dashboard: http://{host}:{chosen}/", err=True)
    command = streamlit_command(host, chosen)
    sys.stderr.flush()
    # exec, not a child: signals (Ctrl-C, a supervisor's SIGTERM) reach Streamlit itself.
    os.execve(command[0], command, _environment(settings))  # noqa: S606 - argv list, no shell


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` to the ``fraudstack`` command."""
    app.command("dashboard")(dashboard_command)
