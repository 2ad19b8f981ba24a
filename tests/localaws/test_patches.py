"""Every moto patch applies to the pinned moto, and a missing target fails loudly."""

from __future__ import annotations

from pathlib import Path

import moto
import pytest

from fraudstack.localaws import patches
from fraudstack.localaws.glue_runner import GlueRunner
from fraudstack.localaws.lambda_runtime import LambdaRuntime


def test_every_patch_applies(tmp_path: Path) -> None:
    assert moto.__version__ == patches.MOTO_VERSION
    names = patches.apply(
        LambdaRuntime(tmp_path / "lambda", "http://127.0.0.1:1"),
        GlueRunner(tmp_path / "glue", "http://127.0.0.1:1", "us-east-1", s3_client=None),
    )
    assert set(names) >= {t.patch for t in patches.TARGETS}
    assert all(patches.applied(t) for t in patches.TARGETS)
    from moto.core.config import default_user_config

    assert default_user_config["stepfunctions"]["execute_state_machine"] is True


def test_a_missing_target_names_the_patch() -> None:
    gone = patches.Target("glue-start-job-run", "moto.glue.models", "FakeJob", "no_such_method")
    with pytest.raises(patches.PatchError, match=r"'glue-start-job-run'.*FakeJob\.no_such_method"):
        gone.resolve()
