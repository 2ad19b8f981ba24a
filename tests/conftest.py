"""Session fixtures: one embedded stack (real servers) shared by the whole test run.

The stack runs on free ports in a temporary state directory, so a developer's own
``make up`` stack is never touched. It is stopped at the end of the session, even when
tests fail; the ``finally`` also covers KeyboardInterrupt.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from fraudstack.settings import Settings, load_settings
from fraudstack.stack import EmbeddedStack
from tests import compose_target
from tests.support import free_port


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


def pytest_addoption(parser: pytest.Parser) -> None:
    compose_target.add_option(parser)


@contextmanager
def _exported(settings: Settings) -> Iterator[None]:
    """CLI subprocesses, Lambda handlers and Glue scripts read their settings from here."""
    saved = dict(os.environ)
    os.environ.update(settings.subprocess_env())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[RunningStack]:
    """A started stack (embedded by default, compose on request); settings exported to children."""
    state_dir = Path(tempfile.mkdtemp(prefix="fraudstack-test-"))
    state_dir.chmod(0o755)  # PostgreSQL runs as another user when the tests run as root
    if compose_target.requested(request.config):
        with compose_target.compose_stack(state_dir) as settings, _exported(settings):
            yield RunningStack(settings=settings)
        return
    settings = make_settings(state_dir)
    embedded = EmbeddedStack(settings)
    try:
        embedded.up()
        with _exported(settings):
            yield RunningStack(settings=settings, stack=embedded)
    finally:
        embedded.down()
