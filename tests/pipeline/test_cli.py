"""``fraudstack pipeline`` and ``fraudstack demo`` refuse clearly when they cannot run."""

from __future__ import annotations

import pytest

from fraudstack.cli.app import main
from fraudstack.settings import Settings


def test_run_without_a_deployed_pipeline_says_to_deploy(
    deployed: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRAUDSTACK_BUCKET", "no-such-lake")  # names a state machine never deployed
    assert main(["pipeline", "run"]) == 1
    assert "fraudstack deploy" in capsys.readouterr().err


def test_demo_runs_only_on_the_embedded_stack(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRAUDSTACK_TARGET", "compose")
    assert main(["demo"]) == 2
    assert "embedded stack" in capsys.readouterr().err
