"""The S3 model registry (emulator), the promotion gate's records, lineage and rollback, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fraudstack.aws import client
from fraudstack.errors import FraudstackError
from fraudstack.model import registry
from fraudstack.model.release import release
from fraudstack.model.training import TrainingResult
from fraudstack.settings import Settings
from tests.support.stack import RunningStack


@pytest.fixture
def settings(stack: RunningStack) -> Iterator[Settings]:
    """Settings with a fresh, empty artifacts bucket, so each test starts with no current model."""
    fresh = stack.settings.model_copy(update={"artifacts_bucket": f"models-{uuid.uuid4().hex[:10]}"})
    client("s3", fresh).create_bucket(Bucket=fresh.artifacts_bucket)
    yield fresh


def test_round_trip_through_the_registry(settings: Settings, trained: TrainingResult, tmp_path: Path) -> None:
    with pytest.raises(FraudstackError, match="fraudstack train"):
        registry.load_current_model(settings)
    outcome = release(settings, trained, tmp_path / "a")
    assert outcome["promoted"] and "no champion" in outcome["decision"]
    version = trained.model.version
    assert registry.current_version(settings) == version
    assert registry.list_versions(settings) == [version]
    loaded = registry.load_current_model(settings)
    assert (loaded.version, loaded.features, loaded.threshold) == (
        version,
        trained.model.features,
        trained.model.threshold,
    )
    test = trained.features[trained.split.test]
    np.testing.assert_array_equal(loaded.score(test), trained.model.score(test))
    keys = {
        o["Key"] for o in client("s3", settings).list_objects_v2(Bucket=settings.artifacts_bucket)["Contents"]
    }
    for name in ("model.ubj", "manifest.json", "report.json", "report.md", "plots/pr_curve.png"):
        assert f"models/{version}/{name}" in keys


def test_a_worse_model_does_not_become_current(
    settings: Settings, trained: TrainingResult, tmp_path: Path
) -> None:
    release(settings, trained, tmp_path / "good")
    good = trained.model.version
    # The same trees cut down to one: clearly worse on the same test window.
    stump = replace(trained.model, booster=trained.model.booster[:1], version="00000000T000000Z-stump")
    stump.manifest = {**trained.model.manifest, "version": stump.version}
    worse = replace(trained, model=stump, evaluation={"test": {**trained.evaluation["test"]}})
    worse.evaluation["test"]["average_precision"] = 0.01
    outcome = release(settings, worse, tmp_path / "worse")
    assert not outcome["promoted"] and outcome["decision"].startswith("refused: AP")
    assert registry.current_version(settings) == good
    assert set(registry.list_versions(settings)) == {good, stump.version}  # published, not promoted
    # The refusal and its figures are in the registry, under the refused version.
    (refusal,) = registry.history(settings, stump.version)
    assert (refusal["action"], refusal["reason"], refusal["champion"]) == (
        "refuse",
        outcome["decision"],
        good,
    )
    assert registry.last_actions(settings)[stump.version][0] == "refuse"
    gate = refusal["gate"]
    assert gate["challenger"]["average_precision"] < gate["champion"]["average_precision"]
    forced = release(settings, worse, tmp_path / "forced", promote="always")
    assert forced["promoted"] and registry.current_version(settings) == stump.version
    assert registry.history(settings, stump.version)[-1]["previous"] == good


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fraudstack", "model", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **settings.subprocess_env()},
        timeout=120,
        check=False,
    )


def _published(settings: Settings, trained: TrainingResult, directory: Path, version: str) -> str:
    model = replace(trained.model, version=version)
    model.manifest = {**trained.model.manifest, "version": version}
    registry.save_local(model, directory)
    registry.publish(settings, directory)
    return version


def test_lineage_promote_and_rollback_through_the_cli(
    settings: Settings, trained: TrainingResult, tmp_path: Path
) -> None:
    first, second, third = (
        _published(settings, trained, tmp_path / name, f"2025010{i}T000000Z-{name}")
        for i, name in enumerate(("first", "second", "third"), start=1)
    )
    assert "no current model" in _cli(settings, "rollback").stderr
    for version in (first, second, third):
        done = _cli(settings, "promote", version, "--reason", f"because {version}")
        assert done.returncode == 0, done.stderr
    listed = _cli(settings, "list").stdout.splitlines()
    assert [line.split()[1] if line.startswith("*") else line.split()[0] for line in listed] == [
        first,
        second,
        third,
    ]
    assert listed[2].startswith(f"* {third}") and all(" promote 20" in line for line in listed)

    shown = _cli(settings, "show", second).stdout
    manifest = trained.model.manifest
    for expected in (
        manifest["code_version"],
        f"feature version  {manifest['feature_version']}",
        manifest["data"]["first_event"],
        f"promote by fraudstack model promote: because {second}",
    ):
        assert expected in shown, (expected, shown)

    # Each rollback goes one promotion further back; then there is nothing left to undo.
    for expected in (second, first):
        done = _cli(settings, "rollback", "--reason", "drill")
        assert done.returncode == 0, done.stderr
        assert registry.current_version(settings) == expected
    refused = _cli(settings, "rollback")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert f"no model before {first}" in refused.stderr
    assert registry.history(settings)[-1] == {**registry.history(settings)[-1], "action": "rollback"}

    for args, code, message in (
        (("promote", "nosuch"), 1, "not in the registry"),
        (("promote", first), 1, "already current"),
        (("promote", second, "--reason", " "), 2, "--reason"),
        (("show", "nosuch"), 1, "not in the registry"),
        (("promote",), 2, "Missing argument"),
    ):
        bad = _cli(settings, *args)
        assert (bad.returncode, bad.stderr.count("\n")) == (code, 1), (args, bad.stderr)
        assert message in bad.stderr, (args, bad.stderr)


def test_missing_bucket_is_one_clear_error(
    stack: RunningStack, trained: TrainingResult, tmp_path: Path
) -> None:
    settings = stack.settings.model_copy(update={"artifacts_bucket": "no-such-registry-bucket"})
    registry.save_local(trained.model, tmp_path)
    with pytest.raises(FraudstackError, match="fraudstack deploy"):
        registry.publish(settings, tmp_path)
    with pytest.raises(FraudstackError, match="fraudstack deploy"):
        registry.load_current_model(settings)
