"""Child processes (Lambda handlers, Glue scripts) that must not outlive the emulator.

Why: a Glue script starts a JVM, and the stack launcher stops the emulator by its pid only.
Each child runs in its own session (process group), registered here, so the server can kill
the whole group (Python and JVM) when it shuts down.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

_lock = threading.Lock()
_live: set[subprocess.Popen[bytes]] = set()


def start(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    stdin: int | None = subprocess.DEVNULL,
    stdout: IO[bytes] | int | None = None,
    stderr: IO[bytes] | int | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new process group and remember it until :func:`forget`."""
    proc = subprocess.Popen(
        list(argv),
        env=dict(env),
        cwd=cwd,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )
    with _lock:
        _live.add(proc)
    return proc


def kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` and everything it started (its process group), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def forget(proc: subprocess.Popen[bytes]) -> None:
    """Stop tracking a child that has exited."""
    with _lock:
        _live.discard(proc)


def kill_all() -> None:
    """Kill every child still running (server shutdown)."""
    with _lock:
        procs = list(_live)
        _live.clear()
    for proc in procs:
        kill(proc)
