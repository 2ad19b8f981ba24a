"""The CLI imports only the invoked command's module, and reports unknown commands in one line."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("xgboost", "pyspark", "streamlit", "sklearn")


def test_light_commands_do_not_import_heavy_libraries() -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from fraudstack.cli.app import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['stack', '--help'])\n"
        f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "0 []"


def test_every_command_module_registers() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fraudstack", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    from fraudstack.cli.app import COMMANDS

    for command in COMMANDS:
        assert f" {command} " in result.stdout, command


def test_unknown_command_is_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fraudstack", "nosuch"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "nosuch" in result.stderr
