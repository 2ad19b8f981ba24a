"""Fixtures for the AWS target: the default aws settings, its declaration and its template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fraudstack.provisioning.aws import artifacts
from fraudstack.provisioning.aws.template import AwsDeclaration, declare_aws, default_settings, render
from fraudstack.settings import Settings


@pytest.fixture(scope="session")
def layer_cache(request: pytest.FixtureRequest) -> Path:
    """Kept across runs (pytest's cache): the Lambda layer is rebuilt only when its pins change."""
    state_dir = Path(request.config.cache.mkdir("fraudstack-state"))
    return artifacts.cache_dir(Settings.model_construct(state_dir=state_dir))


@pytest.fixture(scope="session")
def aws_settings() -> Settings:
    return default_settings()


@pytest.fixture(scope="session")
def declaration(aws_settings: Settings) -> AwsDeclaration:
    return declare_aws(aws_settings)


@pytest.fixture(scope="session")
def template(aws_settings: Settings) -> dict[str, Any]:
    return render(aws_settings)
