"""Fixtures: a dedicated warehouse database per purpose on the session stack's PostgreSQL.

Why separate databases: other test packages load their own rows into the stack's warehouse,
and the dashboard tests assert exact figures. The app reads its warehouse from
``FRAUDSTACK_WAREHOUSE_DSN`` (through the one settings object), so each fixture points that
variable at its database for as long as it is in use.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg2
import pytest
import streamlit as st
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

from fraudstack.dashboard import app_script
from fraudstack.settings import Settings
from fraudstack.warehouse import connect, migrate
from tests.conftest import RunningStack
from tests.dashboard import known_data
from tests.support import free_port

APP = str(app_script())


@contextlib.contextmanager
def scratch_database(settings: Settings, *, migrated: bool = True) -> Iterator[Settings]:
    """A new, empty database on the stack's server (dropped afterwards); settings pointing at it."""
    name = f"dash_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(settings.warehouse_url())
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
        dsn = urlsplit(settings.warehouse_url())._replace(path=f"/{name}").geturl()
        scratch = settings.model_copy(update={"warehouse_dsn": SecretStr(dsn)})
        if migrated:
            with connect(scratch) as wh:
                migrate(wh)
        yield scratch
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.close()


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
