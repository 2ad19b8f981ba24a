"""Isolated stacks and the fraudstack processes tests and benchmarks start on them.

One recipe for an embedded stack of one's own (a fresh state directory, free ports, the
settings exported to child processes, everything stopped and removed afterwards), shared by
the test session (tests/conftest.py) and the benchmarks, so a developer's own ``make up``
stack is never touched and no run leaves servers behind.
"""

from __future__ import annotations

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


def new_state_dir(prefix: str) -> Path:
    """A fresh state directory, readable by PostgreSQL (it runs as another user under root)."""
    state_dir = Path(tempfile.mkdtemp(prefix=prefix))
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
