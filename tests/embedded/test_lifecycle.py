"""Starting and stopping stacks: clean errors, nothing left half-started, only our pids stopped."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from fraudstack.embedded import EmbeddedStack
from fraudstack.embedded.process import port_is_free
from tests.support.stack import make_settings, new_state_dir


def test_port_taken_gives_one_line_and_leaves_nothing_running() -> None:
    settings = make_settings(new_state_dir("fraudstack-lifecycle-"))
    env = {**os.environ, **settings.subprocess_env()}
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", settings.kafka_port))
        blocker.listen()
        result = subprocess.run(
            [sys.executable, "-m", "fraudstack", "stack", "up"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=120,
        )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {settings.kafka_port}" in lines[0]
    assert "FRAUDSTACK_KAFKA_PORT" in lines[0]
    # The emulator and the warehouse started before the broker failed: both were rolled back.
    assert port_is_free(settings.moto_port)
    assert port_is_free(settings.postgres_port)
    assert not list((settings.state_path / "run").glob("*.pid"))


def test_down_stops_everything_it_started_and_nothing_else() -> None:
    settings = make_settings(new_state_dir("fraudstack-lifecycle-"))
    stack = EmbeddedStack(settings)
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        stack.up()
        pids = [server.recorded_pid() for server in stack.servers.values()]
        assert all(pids)
        assert sorted(stack.down()) == ["aws", "kafka", "warehouse"]
        for pid in pids:
            assert pid is not None
            assert (
                not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
            )
        # A stale pid file whose pid now belongs to another program must not get it killed.
        stale = stack.servers["aws"].pid_file
        stale.write_text(json.dumps({"pid": bystander.pid, "argv": ["python"], "started": 1}))
        assert stack.down() == []
        assert bystander.poll() is None
        assert port_is_free(settings.kafka_port) and port_is_free(settings.postgres_port)
    finally:
        stack.down()
        bystander.kill()
        bystander.wait()
