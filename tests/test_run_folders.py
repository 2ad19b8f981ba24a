"""Test and bench runs killed before their cleanup leave no state behind for the next run.

Such leftovers once filled CI's disk: each killed run left its stacks' state in /tmp.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.stack import RUN_DIR_ENV, RUNS_ROOT, sweep_dead_runs

_CLAIM_AND_WAIT = """
import sys, time
from tests.support.stack import new_state_dir
print(new_state_dir("fraudstack-killed-"), flush=True)
time.sleep(600)
"""


def _claiming_run() -> tuple[subprocess.Popen[str], Path]:
    """A run (a child process, as a bench is) that made a state dir and is still going."""
    env = {k: v for k, v in os.environ.items() if k != RUN_DIR_ENV}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLAIM_AND_WAIT], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    state_dir = Path(proc.stdout.readline().strip())
    return proc, state_dir


def test_a_killed_runs_state_is_swept_and_a_living_runs_is_kept() -> None:
    killed, killed_state = _claiming_run()
    living, living_state = _claiming_run()
    try:
        assert killed_state.parent == RUNS_ROOT / f"run-{killed.pid}"
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert killed_state.is_dir(), "SIGKILL runs no cleanup: the state is left behind"

        removed = sweep_dead_runs()

        assert killed_state.parent in removed
        assert not killed_state.parent.exists()
        assert living_state.is_dir()
    finally:
        living.kill()
        living.wait()
        shutil.rmtree(living_state.parent, ignore_errors=True)


def test_a_run_that_ends_normally_removes_its_own_folder() -> None:
    script = "from tests.support.stack import new_state_dir; print(new_state_dir('fraudstack-ended-'))"
    env = {k: v for k, v in os.environ.items() if k != RUN_DIR_ENV}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    state_dir = Path(out.stdout.strip())
    assert state_dir.parent.name.startswith("run-")
    assert not state_dir.parent.exists()


def test_this_session_keeps_its_state_in_its_own_run_folder() -> None:
    run = Path(os.environ[RUN_DIR_ENV])
    assert run.parent == RUNS_ROOT and run.is_dir()
