"""Session fixtures: one embedded stack (real servers) shared by the whole test run.

The stack runs on free ports in a temporary state directory (tests.support.stack), so a
developer's own ``make up`` stack is never touched. It is stopped at the end of the session,
even when tests fail; the ``finally`` also covers KeyboardInterrupt.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import compose_target
from tests.support.stack import RunningStack, ephemeral_stack, exported, new_state_dir, run_dir


def pytest_addoption(parser: pytest.Parser) -> None:
    compose_target.add_option(parser)


def pytest_configure(config: pytest.Config) -> None:
    """The controller claims this run's state folder (sweeping dead runs') before workers start."""
    if not hasattr(config, "workerinput"):
        run_dir()


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[RunningStack]:
    """A started stack (embedded by default, compose on request); settings exported to children."""
    if compose_target.requested(request.config):
        with compose_target.compose_stack(new_state_dir("fraudstack-test-")) as settings, exported(settings):
            yield RunningStack(settings=settings)
        return
    with ephemeral_stack("fraudstack-test-") as running:
        yield running
