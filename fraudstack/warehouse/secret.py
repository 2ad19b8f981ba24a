"""The warehouse secret's shape: written by the deploy, read by every component on AWS.

The secret is JSON with the key names RDS and Redshift use (``engine``, ``host``, ``port``,
``username``, ``password``, ``dbname``), plus ``dsn`` when the deploy knows the whole
connection string (the local stacks). On AWS, Secrets Manager generates the password into
:data:`PASSWORD_KEY` of :func:`without_password` (:mod:`fraudstack.provisioning.aws.warehouse`).
:func:`encode` and :func:`decode` are the two sides of that shape.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

#: The key Secrets Manager generates the password into on AWS.
PASSWORD_KEY = "password"  # noqa: S105 - a key name, not a password
#: Redshift's port, for a secret without one.
_DEFAULT_PORT = 5439


def without_password(engine: str, host: str, port: int, username: str, dbname: str) -> str:
    """The secret's text before a password is added (the template Secrets Manager completes)."""
    value = {"engine": engine, "host": host, "port": port, "username": username, "dbname": dbname}
    return json.dumps(value, sort_keys=True)


def encode(dsn: str) -> str:
    """The secret string for the warehouse at ``dsn`` (a ``postgresql://`` URL)."""
    parts = urlsplit(dsn)
    value = {
        "engine": "postgres",
        "host": parts.hostname or "",
        "port": parts.port or 5432,
        "username": unquote(parts.username or ""),
        PASSWORD_KEY: unquote(parts.password or ""),
        "dbname": parts.path.lstrip("/"),
        "dsn": dsn,
    }
    return json.dumps(value, sort_keys=True)


def decode(secret_string: str) -> dict[str, Any]:
    """psycopg2 ``connect`` arguments from a secret string (:class:`ValueError` if it is not JSON).

    The ``dsn`` when the secret has one; else the RDS/Redshift keys, over TLS.
    """
    secret = json.loads(secret_string)
    if secret.get("dsn"):
        return {"dsn": secret["dsn"]}
    return {
        "host": secret["host"],
        "port": int(secret.get("port", _DEFAULT_PORT)),
        "user": secret["username"],
        "password": secret[PASSWORD_KEY],
        "dbname": secret.get("dbname", "dev"),
        "sslmode": "require",
    }
