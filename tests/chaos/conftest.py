"""Fixtures for the chaos tests: a stack of their own (see :mod:`tests.chaos.harness`) with the
bridge and the scorer running, the scorer on the session's tiny test model.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chaos.harness import ChaosStack, chaos_settings
from tests.support.scoring import publish_model, scoring_base, tiny_model
from tests.support.stack import new_state_dir

__all__ = ["chaos", "scoring_base", "tiny_model"]


@pytest.fixture
def chaos(tiny_model: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosStack]:
    """A started stack of its own (durable broker storage) with the bridge and the scorer consuming."""
    settings = chaos_settings(new_state_dir("fraudstack-chaos-"))
    stack = ChaosStack.create(settings, tmp_path_factory.mktemp("chaos-logs"))
    try:
        publish_model(settings, tiny_model, tmp_path_factory.mktemp("chaos-model"))  # type: ignore[arg-type]
        stack.start_bridge()
        stack.start_scorer()
        stack.wait_for_log("bridge", "partitions assigned", timeout=90)
        stack.wait_for_log("scorer", "partitions assigned", timeout=90)
        yield stack
    finally:
        print(f"\nchaos logs: {stack.log_dir}")
        stack.close()
