"""Session fixtures: one embedded stack (real servers) shared by the whole test run.

The stack runs on free ports in a temporary state directory (tests.support.stack), so a
developer's own ``make up`` stack is never touched. It is stopped at the end of the session,
even when tests fail; the ``finally`` also covers KeyboardInterrupt.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests import compose_target
from tests.support.stack import RunningStack, ephemeral_stack, exported, new_state_dir, run_dir


def pytest_addoption(parser: pytest.Parser) -> None:
    compose_target.add_option(parser)


#: The suite's Spark jobs last seconds, where the JIT's C1 alone saves ~12% of their time; a
#: 1M-row ETL is 40% slower with it, so it is the suite's setting, not the default (BENCHMARKS.md).
SPARK_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1"


def pytest_configure(config: pytest.Config) -> None:
    """The controller claims this run's state folder (sweeping dead runs') before workers start,
    and sets what every stack and child process of the run inherits."""
    if not hasattr(config, "workerinput"):
        run_dir()
        os.environ.setdefault("FRAUDSTACK_SPARK_JAVA_OPTIONS", SPARK_JAVA_OPTIONS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow modules first (stable otherwise), so xdist's workers start them together at the
    beginning instead of one running a five-minute module alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[RunningStack]:
    """A started stack (embedded by default, compose on request); settings exported to children."""
    if compose_target.requested(request.config):
        with compose_target.compose_stack(new_state_dir("fraudstack-test-")) as settings, exported(settings):
            yield RunningStack(settings=settings)
        return
    with ephemeral_stack("fraudstack-test-") as running:
        yield running
