"""Run the end-to-end tests against the docker compose stack instead of the embedded one.

Why: our users' CI has Docker, and the same tests should prove the compose target works.
The target is chosen with ``pytest --stack-target compose`` or ``FRAUDSTACK_TEST_TARGET=compose``
(default ``embedded``, which always runs). Where compose is asked for but no Docker engine
(or no compose plugin) is reachable, every test that needs the stack is skipped with one
reason that says so; nothing falls back silently.

Hook for ``tests/conftest.py``::

    from tests import compose_target

    def pytest_addoption(parser):
        compose_target.add_option(parser)

    @pytest.fixture(scope="session")
    def stack(request):
        if compose_target.requested(request.config):
            with compose_target.compose_stack(state_dir) as settings:
                yield ...  # the same RunningStack shape, built from ``settings``
            return
        ...  # the embedded stack, as today

Like ``stack up``, :func:`compose_stack` starts only the servers (Kafka, the AWS emulator,
PostgreSQL) on free loopback ports; tests deploy resources and start app processes
themselves, exactly as on the embedded stack.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fraudstack.settings import Settings, load_settings
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[1]
OPTION = "--stack-target"
VARIABLE = "FRAUDSTACK_TEST_TARGET"
TARGETS = ("embedded", "compose")
#: The compose services that make up "the stack" (what `fraudstack stack up` runs locally).
SERVER_SERVICES = ["kafka", "emulator", "postgres"]


def add_option(parser: pytest.Parser) -> None:
    """Register ``--stack-target`` (call from ``pytest_addoption``)."""
    parser.addoption(
        OPTION,
        choices=TARGETS,
        default=None,
        help=f"run end-to-end tests on the embedded stack (default) or docker compose; also ${VARIABLE}",
    )


def selected_target(config: pytest.Config) -> str:
    """The target asked for: the command-line option, else the environment, else embedded."""
    target = config.getoption(OPTION, default=None) or os.environ.get(VARIABLE) or "embedded"
    if target not in TARGETS:
        raise pytest.UsageError(f"{VARIABLE}={target!r}: choose one of {', '.join(TARGETS)}")
    return str(target)


def requested(config: pytest.Config) -> bool:
    """Whether this run targets the compose stack."""
    return selected_target(config) == "compose"


def docker_unavailable_reason() -> str | None:
    """Why compose cannot run here, or None when a Docker engine and the compose plugin answer."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        return "the docker Python package is missing (pip install 'fraudstack[compose]')"
    try:
        docker.from_env().ping()
    except DockerException as exc:
        return f"no Docker engine is reachable ({type(exc).__name__})"
    try:
        subprocess.run(["docker", "compose", "version"], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "the Docker compose plugin is missing (`docker compose version` fails)"
    return None


@contextmanager
def compose_stack(state_dir: Path) -> Iterator[Settings]:
    """Start the compose servers on free ports; yield host-side Settings; remove them after.

    Skips (one reason for the whole session) when Docker is not usable here.
    """
    reason = docker_unavailable_reason()
    if reason is not None:
        pytest.skip(
            f"{VARIABLE}=compose asks for the docker compose stack, but {reason}; "
            "unset it to test the embedded stack"
        )
    ports = {
        "kafka_port": free_port(),
        "moto_port": free_port(),
        "postgres_port": free_port(),
        "dashboard_port": free_port(),
    }
    password = secrets.token_urlsafe(18)  # URL-safe: it becomes part of the warehouse DSN
    env_file = state_dir / "compose.env"
    env_file.write_text(
        "".join(f"FRAUDSTACK_{name.upper()}={port}\n" for name, port in ports.items())
        + f"FRAUDSTACK_WAREHOUSE_PASSWORD={password}\n"
    )
    env_file.chmod(0o600)

    from testcontainers.compose import DockerCompose

    compose = DockerCompose(
        context=ROOT,
        compose_file_name="docker-compose.yml",
        build=True,
        wait=True,  # `up --wait`: until the health checks pass
        env_file=str(env_file),
        services=SERVER_SERVICES,
    )
    with compose:
        yield load_settings(
            target="compose",
            state_dir=state_dir,
            kafka_bootstrap_servers=f"127.0.0.1:{ports['kafka_port']}",
            aws_endpoint_url=f"http://127.0.0.1:{ports['moto_port']}",
            warehouse_password=password,
            **ports,
        )
