"""boto3 clients for the configured target.

Why here: the only difference between the emulator and real AWS is the endpoint and, for
the emulator, placeholder credentials. Every component gets its clients from
:func:`client` so no code ever branches on the target.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

from fraudstack.errors import ConfigError
from fraudstack.settings import EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY, Settings

_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=120)


def client(service: str, settings: Settings, **kwargs: Any) -> Any:
    """A boto3 client for ``service`` on the configured target (emulator or AWS)."""
    options: dict[str, Any] = {"region_name": settings.aws_region, "config": _RETRIES}
    if not settings.is_local:
        _refuse_endpoint_overrides()
    if settings.is_local:
        options.update(
            endpoint_url=settings.aws_endpoint_url,
            aws_access_key_id=EMULATOR_ACCESS_KEY_ID,
            aws_secret_access_key=EMULATOR_SECRET_ACCESS_KEY,
        )
    options.update(kwargs)
    return boto3.session.Session().client(service, **options)  # type: ignore[call-overload]


def _refuse_endpoint_overrides() -> None:
    """Stop the aws target from talking to an emulator by accident.

    botocore honours ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``) from the
    environment, so an operator's shell left over from local work would silently send the
    aws target's calls to the emulator: the deploy "succeeds" and nothing is in AWS.
    """
    overrides = sorted(name for name in os.environ if name.startswith("AWS_ENDPOINT_URL"))
    if overrides:
        raise ConfigError(
            f"{', '.join(overrides)} is set but FRAUDSTACK_TARGET=aws: botocore would send every call "
            "there instead of AWS; unset it, or choose the embedded or compose target"
        )
