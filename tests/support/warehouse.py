"""Scratch warehouse databases: an empty (migrated) database of one's own on the stack's server.

Why: other tests load their own rows into the stack's warehouse, and tests that assert exact
figures (the dashboard, the drift job, the model watch) need a database nobody else writes.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg2
from pydantic import SecretStr

from fraudstack.settings import Settings
from fraudstack.warehouse import connect, migrate


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
