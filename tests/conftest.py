"""Session fixtures: one embedded stack (real servers) shared by the whole test run.

The stack runs on free ports in a temporary state directory, so a developer's own
``make up`` stack is never touched. It is stopped at the end of the session, even when
tests fail; the ``finally`` also covers KeyboardInterrupt.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fraudstack.settings import Settings, load_settings
from fraudstack.stack import EmbeddedStack


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningStack:
    """The embedded stack under test and the settings that point at it."""

    stack: EmbeddedStack
    settings: Settings

    @property
    def state_dir(self) -> Path:
        return self.settings.state_path


def make_settings(state_dir: Path, **overrides: object) -> Settings:
    """Settings for an isolated stack: its own state dir and free ports."""
    ports = {
        "kafka_port": free_port(),
        "moto_port": free_port(),
        "postgres_port": free_port(),
    }
    return load_settings(state_dir=state_dir, **{**ports, **overrides})


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    """A started embedded stack; its settings are also exported to child processes."""
    state_dir = Path(tempfile.mkdtemp(prefix="fraudstack-test-"))
    state_dir.chmod(0o755)  # PostgreSQL runs as another user when the tests run as root
    settings = make_settings(state_dir)
    embedded = EmbeddedStack(settings)
    saved = dict(os.environ)
    try:
        embedded.up()
        # CLI subprocesses, Lambda handlers and Glue scripts read their settings from here.
        os.environ.update(settings.subprocess_env())
        yield RunningStack(stack=embedded, settings=settings)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        embedded.down()
