"""A wheel install works with no checkout around it: build, install in a clean venv, run the demo.

Why: every other test imports fraudstack from the checkout (an editable install), where a
module that found its files by walking up to the repository would still work. Here the
wheel is installed into a fresh virtualenv (dependencies from the package index) and run
from a folder outside the checkout: ``stack up``, ``deploy`` (state machines and DDL read
as package data, Glue scripts and the Lambda zip generated from the package) and the demo
(the jobs run from the generated scripts, Spark's jars from the user cache), then
``stack down``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import make_settings, new_state_dir

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
#: What the demo runs: the stack, Kafka clients, Spark jobs and the model (not the dashboard).
EXTRAS = "kafka,emulator,warehouse,spark,ml"


def _run(
    command: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, (
        f"{command}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A folder outside the checkout, readable by PostgreSQL's user when the tests run as root."""
    folder = new_state_dir("fraudstack-wheel-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _environment(state_dir: Path) -> dict[str, str]:
    """This machine's environment without any stack's settings, plus a stack of its own."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FRAUDSTACK_", "AWS_", "KAFKA_", "PYTHONPATH", "VIRTUAL_ENV"))
    }
    # A wide console: rich wraps the demo's summary lines at 80 columns otherwise.
    return {**inherited, **make_settings(state_dir).subprocess_env(), "COLUMNS": "200"}


def _source_copy(folder: Path) -> Path:
    """The checkout's files as git sees them (committed or not, ignored ones left out).

    Why a copy: setuptools builds in the source tree's ``build/``, whose stale files (a module
    since deleted) would end up in the wheel, and two runs at once would share it.
    """
    listed = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO_ROOT)
    for name in filter(None, listed.stdout.split("\0")):
        if (REPO_ROOT / name).is_file():  # a file deleted but not yet committed is still listed
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, folder / name)
    return folder


def _install(wheel: Path, venv: Path, cache: Path) -> None:
    """A fresh venv with the wheel and its extras' dependencies, resolved from the wheel's metadata.

    Installed by uv, with a cache of its own removed with the test's folder: the same
    resolution as pip's from the same index, in ~20 s where pip took ~130 s to unpack the
    1 GB of dependencies, and no cache left growing on the machine.
    """
    env = {**os.environ, "UV_CACHE_DIR": str(cache)}
    env.pop("VIRTUAL_ENV", None)
    uv = [sys.executable, "-m", "uv"]
    _run([*uv, "venv", "--quiet", "--python", sys.executable, venv], env=env)
    target = ["--python", venv / "bin" / "python"]
    _run([*uv, "pip", "install", "--quiet", *target, f"{wheel}[{EXTRAS}]"], env=env)


@pytest.mark.timeout(1800)
def test_the_installed_wheel_runs_the_demo_outside_the_checkout(workdir: Path) -> None:
    source = _source_copy(workdir / "source")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", workdir / "dist", source])
    (wheel,) = (workdir / "dist").glob("fraudstack-*.whl")
    venv = workdir / "venv"
    _install(wheel, venv, workdir / "uv-cache")
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    env = _environment(elsewhere / "state")
    where = _run(
        [venv / "bin" / "python", "-c", "import fraudstack; print(fraudstack.__file__)"],
        cwd=elsewhere,
        env=env,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout

    fraudstack = venv / "bin" / "fraudstack"
    try:
        _run([fraudstack, "stack", "up"], cwd=elsewhere, env=env)
        deployed = _run([fraudstack, "deploy"], cwd=elsewhere, env=env)
        assert re.search(r"created +state-machine", deployed.stdout), deployed.stdout
        demo = _run([fraudstack, "demo"], cwd=elsewhere, env=env)
    finally:
        subprocess.run(
            [fraudstack, "stack", "down"], cwd=elsewhere, env=env, capture_output=True, check=False
        )
    assert "demo finished" in demo.stdout, demo.stdout
    sent = re.search(r"([\d,]+) alert\(s\) sent", demo.stdout)
    assert sent and int(sent.group(1).replace(",", "")) > 0, demo.stdout
