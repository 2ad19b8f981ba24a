"""Fixtures: a dedicated warehouse database per purpose on the session stack's PostgreSQL.

Why separate databases: other test packages load their own rows into the stack's warehouse,
and the dashboard tests assert exact figures. The app reads its warehouse from
``FRAUDSTACK_WAREHOUSE_DSN`` (through the one settings object), so each fixture points that
variable at its database for as long as it is in use.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from fraudstack.dashboard import app_script
from fraudstack.settings import Settings
from fraudstack.warehouse import connect
from tests.dashboard import known_data
from tests.support import free_port
from tests.support.stack import RunningStack
from tests.support.warehouse import scratch_database

APP = str(app_script())


def pointing_at(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """Make the app (which loads its own settings) use ``settings``' warehouse; drop cached results."""
    assert settings.warehouse_dsn is not None
    monkeypatch.setenv("FRAUDSTACK_WAREHOUSE_DSN", settings.warehouse_dsn.get_secret_value())
    st.cache_data.clear()


@pytest.fixture(scope="package")
def known(stack: RunningStack) -> Iterator[Settings]:
    """The known dataset of :mod:`tests.dashboard.known_data`, loaded through the warehouse module."""
    with scratch_database(stack.settings) as settings:
        with connect(settings) as wh:
            known_data.load(wh)
        yield settings


@pytest.fixture
def app(known: Settings, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The dashboard on the known data, first run done, time range set to the current period."""
    pointing_at(monkeypatch, known)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.date_input(key="range").set_value(known_data.CURRENT).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def unreachable_dsn() -> str:
    """A DSN nothing listens on."""
    return f"postgresql://fraudstack:x@127.0.0.1:{free_port()}/fraudstack"
