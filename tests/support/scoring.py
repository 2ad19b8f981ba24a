"""The scorer's session setup: its own registry bucket and alerts topic, and a tiny model in it.

Fixtures shared by the scoring and the chaos tests (each conftest imports them): the model is
trained once per session with the model engineer's API on a small simulation and published
through their registry.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from fraudstack.model import registry
from fraudstack.model.data import simulated
from fraudstack.model.fraud_model import FraudModel
from fraudstack.model.training import TrainConfig, train
from fraudstack.provisioning.declaration import declare
from fraudstack.provisioning.local import deploy
from fraudstack.settings import Settings
from tests.support.stack import RunningStack

_RESOURCE_KINDS = {"s3-bucket", "sqs-queue", "sns-topic"}


@pytest.fixture(scope="session")
def scoring_base(stack: RunningStack) -> Settings:
    """Registry bucket, alerts topic and tap queue of their own, deployed once."""
    tag = uuid.uuid4().hex[:8]
    settings = stack.settings.model_copy(
        update={
            "bucket": f"lake-sc-{tag}",
            "artifacts_bucket": f"artifacts-sc-{tag}",
            "sns_topic": f"alerts-sc-{tag}",
            "alerts_tap_queue": f"alerts-tap-sc-{tag}",
            "ops_topic": f"ops-sc-{tag}",
            "ops_tap_queue": f"ops-tap-sc-{tag}",
            "kafka_session_timeout_ms": 6000,
        }
    )
    deploy(settings, [r for r in declare(settings) if r.kind in _RESOURCE_KINDS])
    return settings


def train_tiny_model() -> FraudModel:
    """A small model trained with the model engineer's API, in seconds.

    On the card's own features: those the scorer computes exactly, with no profiles
    aggregator running, so its decisions equal the batch scores.
    """
    dataset = simulated(customers=600, days=14, fraud_rate=0.02, seed=3)
    config = TrainConfig(
        card_only=True,
        warmup_days=1,
        val_days=3,
        test_days=3,
        gap_days=0,
        max_rounds=40,
        early_stopping_rounds=40,
        max_depth=4,
    )
    return train(dataset, config).model


@pytest.fixture(scope="session")
def tiny_model(scoring_base: Settings, tmp_path_factory: pytest.TempPathFactory) -> FraudModel:
    """:func:`train_tiny_model`, published and made current."""
    model = train_tiny_model()
    publish_model(scoring_base, model, tmp_path_factory.mktemp("model"))
    return model


def publish_model(
    settings: Settings, model: FraudModel, directory: Path, reason: str = "scorer tests"
) -> None:
    registry.save_local(model, directory)
    registry.publish(settings, directory)
    registry.set_current(settings, model.version, reason=reason)
