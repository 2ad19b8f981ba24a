"""Start, watch and stop one local server process.

Why our own small supervisor instead of a process manager: the embedded stack must run
with nothing but Python installed, survive the CLI exiting (servers outlive ``stack up``),
and ``stack down`` must stop exactly the processes it started — so each server gets a pid
file recording its pid and executable, and we verify both before sending a signal.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fraudstack.errors import StackError


@dataclass
class ServerSpec:
    """Everything needed to run one server of the embedded stack."""

    name: str
    port: int
    port_setting: str  #: the environment variable a user changes when the port is taken
    endpoint: str  #: what clients connect to, as printed by ``stack status``
    command: Callable[[], list[str]]  #: built lazily: finding the binary may fail
    healthy: Callable[[], bool]  #: a real request to the server; False (not raise) when down
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[], None] | None = None  #: one-off set-up before the first start
    after_start: Callable[[], None] | None = None  #: runs once the server answers
    run_as: str | None = None  #: unix user to run as (PostgreSQL refuses root)
    startup_timeout: float = 30.0


@dataclass
class ServerState:
    """What we know about one server right now."""

    name: str
    endpoint: str
    pid: int | None
    running: bool
    healthy: bool
    log: Path


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host:port`` (checked by binding, as the server would).

    SO_REUSEADDR as the servers use it: connections lingering in TIME_WAIT after a server
    stopped do not make its port "taken".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (one of another user counts; a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (ours, not yet reaped) counts as gone.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot): with the pid, a unique identity."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


class ManagedServer:
    """A server process tracked by a pid file and a log file under the state directory."""

    def __init__(self, spec: ServerSpec, state_dir: Path) -> None:
        self.spec = spec
        self.pid_file = state_dir / "run" / f"{spec.name}.pid"
        self.log_file = state_dir / "logs" / f"{spec.name}.log"

    # --- inspection --------------------------------------------------------------------------
    def recorded_pid(self) -> int | None:
        """The pid we started, if it is still that process (guards against pid reuse)."""
        try:
            record = json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        pid = int(record["pid"])
        if not pid_alive(pid):
            return None
        if record.get("started") != _start_ticks(pid):
            return None  # the pid was reused by some other program: not ours to touch
        return pid

    def state(self) -> ServerState:
        pid = self.recorded_pid()
        return ServerState(
            name=self.spec.name,
            endpoint=self.spec.endpoint,
            pid=pid,
            running=pid is not None,
            healthy=pid is not None and self.spec.healthy(),
            log=self.log_file,
        )

    # --- lifecycle -----------------------------------------------------------------------------
    def spawn(self) -> int:
        """Start the process (not waiting for health). Raises StackError with the fix."""
        spec = self.spec
        if not port_is_free(spec.port):
            raise StackError(
                f"port {spec.port} for {spec.name} is already in use by another process; "
                f"stop that process or set {spec.port_setting} to a free port"
            )
        if spec.prepare:
            spec.prepare()
        argv = spec.command()
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        uid, gid = account_ids(spec.run_as)
        if uid is not None and gid is not None:
            os.chown(self.log_file, uid, gid)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**_base_env(), **spec.env},
                start_new_session=True,  # survives the CLI; Ctrl-C in the shell won't kill it
                close_fds=True,
                user=uid,
                group=gid,
                extra_groups=None if uid is None else [],
            )
        except OSError as exc:
            raise StackError(f"could not start {spec.name} ({argv[0]}): {exc.strerror}") from None
        finally:
            log.close()
        self.pid_file.write_text(
            json.dumps({"pid": proc.pid, "argv": argv, "started": _start_ticks(proc.pid)})
        )
        return proc.pid

    def wait_healthy(self) -> None:
        """Block until the server answers a real request, or raise with the log's last lines."""
        deadline = time.monotonic() + self.spec.startup_timeout
        while time.monotonic() < deadline:
            pid = self.recorded_pid()
            if pid is None:
                raise StackError(
                    f"{self.spec.name} exited during start-up: {self.last_log_line()} "
                    f"(full log: {self.log_file})"
                )
            if self.spec.healthy():
                if self.spec.after_start:
                    self.spec.after_start()
                return
            time.sleep(0.2)
        raise StackError(
            f"{self.spec.name} did not answer on {self.spec.endpoint} within "
            f"{self.spec.startup_timeout:.0f}s: {self.last_log_line()} (full log: {self.log_file})"
        )

    def stop(self, timeout: float = 15.0) -> bool:
        """SIGTERM our process group, then SIGKILL after ``timeout``. True if one was running."""
        pid = self.recorded_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.1)
        if pid_alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while pid_alive(pid):
                _reap(pid)
                time.sleep(0.05)
        _reap(pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL without cleanup: what fault-injection tests use to simulate a crash."""
        pid = self.recorded_pid()
        if pid is not None:
            _signal_group(pid, signal.SIGKILL)
            while pid_alive(pid):
                _reap(pid)
                time.sleep(0.05)

    def last_log_line(self) -> str:
        try:
            lines = [ln for ln in self.log_file.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "no log output"
        return lines[-1].strip()[:300] if lines else "no log output"


def account_ids(user: str | None) -> tuple[int | None, int | None]:
    """(uid, gid) of a unix account, or (None, None) to run as ourselves."""
    if user is None:
        return None, None
    account = pwd.getpwnam(user)
    return account.pw_uid, account.pw_gid


def _base_env() -> dict[str, str]:
    """The parent's environment: servers need PATH, HOME, locale. Settings come on top."""
    return dict(os.environ)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our child, so it doesn't linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
