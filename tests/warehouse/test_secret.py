"""The warehouse secret: what the deploy writes is what the components read, on both targets."""

from __future__ import annotations

import json

import pytest

from fraudstack.warehouse import secret


def test_a_local_secret_reads_back_as_its_dsn() -> None:
    dsn = "postgresql://u%40x:p%2Fw@db.internal:6543/wh"
    assert json.loads(secret.encode(dsn))["password"] == "p/w"
    assert secret.decode(secret.encode(dsn)) == {"dsn": dsn}


def test_the_aws_secret_reads_back_as_redshift_over_tls() -> None:
    """As Secrets Manager completes the template: the generated password under PASSWORD_KEY."""
    template = json.loads(secret.without_password("redshift", "wg.example", 5439, "admin", "dev"))
    generated = json.dumps({**template, secret.PASSWORD_KEY: "generated"})
    assert secret.decode(generated) == {
        "host": "wg.example",
        "port": 5439,
        "user": "admin",
        "password": "generated",
        "dbname": "dev",
        "sslmode": "require",
    }


def test_a_secret_that_is_not_json_is_refused() -> None:
    with pytest.raises(ValueError):
        secret.decode("not json")
