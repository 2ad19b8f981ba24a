"""``fraudstack dashboard``: serve the Streamlit analyst dashboard (``fraudstack/dashboard/app.py``).

Bound to 127.0.0.1 by default: the dashboard shows transaction data and has no login, so
exposing it (``--host 0.0.0.0``, e.g. in a container behind a proxy) is an explicit choice.
It becomes ``streamlit run`` (Streamlit's supported entry point, by ``exec``) with the
settings handed down unchanged.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from fraudstack.dashboard import app_script
from fraudstack.settings import load_settings


def streamlit_command(host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line: headless, no file watcher, no usage statistics, no dev menu."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_script()),
        "--server.headless=true",
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=viewer",
    ]


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
    chosen = port or settings.dashboard_port
    typer.echo(f"dashboard: http://{host}:{chosen}/", err=True)
    command = streamlit_command(host, chosen)
    sys.stderr.flush()
    # exec, not a child: signals (Ctrl-C, a supervisor's SIGTERM) reach Streamlit itself.
    os.execve(command[0], command, {**os.environ, **settings.subprocess_env()})  # noqa: S606 - argv list, no shell


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` to the ``fraudstack`` command."""
    app.command("dashboard")(dashboard_command)
