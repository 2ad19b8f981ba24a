"""``stack up | down | status``: the embedded stack as a whole.

Order matters: the AWS emulator and the warehouse start together (neither needs the
other), then the broker, whose durable storage lives in the emulator's S3. If any server
fails, everything this call started is stopped again, so nothing is left half-started.
Once every server answers, :mod:`.consistency` makes the state they came back with agree
(the lake and the warehouse, the broker's offsets and the scorer's snapshots) and
:attr:`EmbeddedStack.notices` says what it found and did.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fraudstack.embedded import consistency
from fraudstack.embedded.process import ManagedServer, ServerState
from fraudstack.embedded.servers import broker_spec, emulator_spec, warehouse_spec
from fraudstack.errors import StackError
from fraudstack.settings import Settings

#: Start phases: servers in one phase start concurrently; phases run in order.
_PHASES: tuple[tuple[str, ...], ...] = (("aws", "warehouse"), ("kafka",))


@dataclass
class StackStatus:
    """Endpoints and health, as printed by ``stack status`` (and ``--json``)."""

    target: str
    state_dir: str
    kafka_bootstrap_servers: str
    aws_endpoint_url: str | None
    warehouse_dsn: str
    servers: dict[str, dict[str, Any]]

    @property
    def healthy(self) -> bool:
        return all(server["healthy"] for server in self.servers.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "healthy": self.healthy}


class EmbeddedStack:
    """The three local servers, started and stopped together."""

    def __init__(self, settings: Settings) -> None:
        if settings.target != "embedded":
            raise StackError(
                f"FRAUDSTACK_TARGET is '{settings.target}': the embedded stack only runs with target "
                "'embedded' (use 'docker compose up' for compose; AWS resources come from the deploy)"
            )
        self.settings = settings
        state = settings.state_path
        self.servers: dict[str, ManagedServer] = {
            spec.name: ManagedServer(spec, state)
            for spec in (emulator_spec(settings), warehouse_spec(settings), broker_spec(settings))
        }
        #: What the last :meth:`up` found out of line and did about it, one line each.
        self.notices: list[str] = []

    def up(self) -> tuple[list[str], list[str], float]:
        """Start what is not running. Returns (started, already running, seconds)."""
        started_at = time.monotonic()
        started: list[str] = []
        already: list[str] = []
        self.settings.state_path.mkdir(parents=True, exist_ok=True)
        try:
            for phase in _PHASES:
                spawned = []
                for name in phase:
                    server = self.servers[name]
                    if server.recorded_pid() is not None:
                        already.append(name)
                        continue
                    server.spawn()
                    started.append(name)
                    spawned.append(server)
                for server in spawned:
                    server.wait_healthy()
                for name in phase:
                    if name in already and not self.servers[name].spec.healthy():
                        raise StackError(
                            f"{name} is running (pid {self.servers[name].recorded_pid()}) but not answering; "
                            f"see {self.servers[name].log_file} or run 'fraudstack stack down' then 'up'"
                        )
        except BaseException:
            for name in reversed(started):
                self.servers[name].stop()
            raise
        self.notices = consistency.check(self.settings, started)
        return started, already, time.monotonic() - started_at

    def down(self) -> list[str]:
        """Stop every server this stack started (by pid file). Returns the names stopped."""
        stopped = []
        for phase in reversed(_PHASES):
            for name in reversed(phase):
                if self.servers[name].stop():
                    stopped.append(name)
        return stopped

    def status(self) -> StackStatus:
        states: dict[str, ServerState] = {name: server.state() for name, server in self.servers.items()}
        return StackStatus(
            target=self.settings.target,
            state_dir=str(self.settings.state_path),
            kafka_bootstrap_servers=self.settings.kafka_bootstrap_servers,
            aws_endpoint_url=self.settings.aws_endpoint_url,
            warehouse_dsn=self.settings.warehouse_url(),
            servers={
                name: {
                    "endpoint": state.endpoint,
                    "pid": state.pid,
                    "running": state.running,
                    "healthy": state.healthy,
                    "log": str(state.log),
                }
                for name, state in states.items()
            },
        )

    def log_files(self) -> dict[str, Path]:
        return {name: server.log_file for name, server in self.servers.items()}
