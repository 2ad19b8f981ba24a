"""Helpers every test area shares: a free port, polling for a condition, restarting a killed server.

Tests poll for what they wait for and never sleep a fixed time or assert an upper time
bound: on a loaded 2-core machine a fixed sleep is either too short or wasted.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

from fraudstack.embedded.process import ManagedServer, port_is_free

T = TypeVar("T")


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def poll(condition: Callable[[], T], timeout: float, interval: float = 0.2) -> T | None:
    """The first truthy value ``condition`` returns within ``timeout``; None if it never does.

    For callers that report what is missing rather than fail (the chaos test counts every
    stage); the others use :func:`wait_until`. ``interval`` 0 suits a condition that blocks on
    its own (a consumer poll, an SQS long poll).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        if interval:
            time.sleep(interval)


def wait_until(
    condition: Callable[[], T], timeout: float, what: str | Callable[[], str], interval: float = 0.2
) -> T:
    """Poll ``condition`` until it returns something truthy (returned); fail naming ``what``.

    ``what`` may be a callable, evaluated only on failure: a log tail or a count of what is
    still missing says more than a fixed text.
    """
    value = poll(condition, timeout, interval)
    if value is None:
        raise AssertionError(f"{what() if callable(what) else what}: not after {timeout}s")
    return value


def restart_after_kill(server: ManagedServer, timeout: float = 30.0) -> None:
    """SIGKILL, then start again on the same port once the kernel has released it."""
    server.kill()
    wait_until(lambda: port_is_free(server.spec.port), timeout, f"port {server.spec.port} released")
    server.spawn()
    server.wait_healthy()
