"""The S3 model registry (emulator) and the promotion rule, end to end."""

from __future__ import annotations

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
from tests.conftest import RunningStack


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
    assert outcome["promoted"] and "no current model" in outcome["decision"]
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
    assert not outcome["promoted"] and outcome["decision"].startswith(f"kept {good}")
    assert registry.current_version(settings) == good
    assert set(registry.list_versions(settings)) == {good, stump.version}  # published, not promoted
    forced = release(settings, worse, tmp_path / "forced", promote="always")
    assert forced["promoted"] and registry.current_version(settings) == stump.version


def test_missing_bucket_is_one_clear_error(
    stack: RunningStack, trained: TrainingResult, tmp_path: Path
) -> None:
    settings = stack.settings.model_copy(update={"artifacts_bucket": "no-such-registry-bucket"})
    registry.save_local(trained.model, tmp_path)
    with pytest.raises(FraudstackError, match="fraudstack deploy"):
        registry.publish(settings, tmp_path)
    with pytest.raises(FraudstackError, match="fraudstack deploy"):
        registry.load_current_model(settings)
