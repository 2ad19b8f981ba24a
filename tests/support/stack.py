"""Isolated stacks and the fraudstack processes tests and benchmarks start on them.

One recipe for an embedded stack of one's own (a fresh state directory, free ports, the
settings exported to child processes, everything stopped and removed afterwards), shared by
the test session (tests/conftest.py) and the benchmarks, so a developer's own ``make up``
stack is never touched and no run leaves servers behind.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from fraudstack.embedded import EmbeddedStack
from fraudstack.embedded.process import pid_alive
from fraudstack.settings import Settings, load_settings
from tests.support import free_port


@dataclass
class RunningStack:
    """The stack under test and the settings that point at it.

    ``stack`` is the embedded stack's process manager; it is None on the compose target,
    where fault-injection tests that kill servers by pid cannot run.
    """

    settings: Settings
    stack: EmbeddedStack | None = None

    @property
    def embedded(self) -> EmbeddedStack:
        """The embedded stack, or a skip for tests that need to manage server processes."""
        if self.stack is None:
            pytest.skip("needs the embedded stack: this test starts and kills server processes")
        return self.stack

    @property
    def state_dir(self) -> Path:
        return self.settings.state_path


RUNS_ROOT = Path(tempfile.gettempdir()) / "fraudstack-runs"
RUN_DIR_ENV = "FRAUDSTACK_TEST_RUN_DIR"


def sweep_dead_runs() -> list[Path]:
    """Remove the run folders of test or bench runs whose process is gone.

    A run killed before its ``finally`` (a CI timeout, a stopped session, SIGKILL) leaves its
    stacks' state behind: hundreds of MB each, and once they filled the disk under the next CI
    run. Each run keeps its state under ``run-<pid>``, so the next run removes exactly the
    folders no living process owns, and never one of a run going on beside it.
    """
    removed = []
    for folder in RUNS_ROOT.glob("run-*"):
        pid = folder.name.removeprefix("run-")
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def run_dir() -> Path:
    """This run's folder for state directories, shared by its xdist workers through the env.

    The first call in a run (the pytest controller, or a bench) sweeps dead runs' folders and
    creates its own, removed when it exits; children inherit it from ``FRAUDSTACK_TEST_RUN_DIR``.
    """
    inherited = os.environ.get(RUN_DIR_ENV)
    if inherited:
        return Path(inherited)
    sweep_dead_runs()
    folder = RUNS_ROOT / f"run-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    for level in (RUNS_ROOT, folder):  # PostgreSQL, another user under root, walks through both
        level.chmod(0o755)
    os.environ[RUN_DIR_ENV] = str(folder)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def new_state_dir(prefix: str) -> Path:
    """A fresh state directory in this run's folder, readable by PostgreSQL (another user)."""
    state_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=run_dir()))
    state_dir.chmod(0o755)
    return state_dir


def make_settings(state_dir: Path, **overrides: object) -> Settings:
    """Settings for an isolated stack: its own state dir and free ports.

    The endpoints follow those ports explicitly: once the session stack has exported its
    AWS_ENDPOINT_URL and KAFKA_BOOTSTRAP_SERVERS, they would otherwise win over the ports.
    """
    chosen: dict[str, object] = {
        "kafka_port": free_port(),
        "moto_port": free_port(),
        "postgres_port": free_port(),
        **overrides,
    }
    endpoints = {
        "aws_endpoint_url": f"http://127.0.0.1:{chosen['moto_port']}",
        "kafka_bootstrap_servers": f"127.0.0.1:{chosen['kafka_port']}",
    }
    return load_settings(state_dir=state_dir, **{**endpoints, **chosen})


@contextmanager
def exported(settings: Settings) -> Iterator[None]:
    """CLI subprocesses, Lambda handlers and Glue scripts read their settings from here."""
    saved = dict(os.environ)
    os.environ.update(settings.subprocess_env())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def ephemeral_stack(prefix: str = "fraudstack-test-", **overrides: object) -> Iterator[RunningStack]:
    """An embedded stack of its own, up, its settings exported; down and its state removed after.

    ``overrides`` are settings (``kafka_storage="s3"``, ``metrics_enabled=False``...). The
    ``finally`` also covers KeyboardInterrupt and a failed ``up`` (servers already started stop).
    """
    state_dir = new_state_dir(prefix)
    settings = make_settings(state_dir, **overrides)
    embedded = EmbeddedStack(settings)
    try:
        embedded.up()
        with exported(settings):
            yield RunningStack(settings=settings, stack=embedded)
    finally:
        embedded.down()
        shutil.rmtree(state_dir, ignore_errors=True)


def spawn_service(settings: Settings, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``python -m fraudstack ARGS`` on ``settings``, its output appended to ``log`` (unbuffered)."""
    env = {**os.environ, **settings.subprocess_env(), "PYTHONUNBUFFERED": "1"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fraudstack", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """SIGTERM and wait; SIGKILL only if it does not exit in time. Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
