"""boto3 clients for the configured target.

Why here: the only difference between the emulator and real AWS is the endpoint and, for
the emulator, placeholder credentials. Every component gets its clients from
:func:`client` so no code ever branches on the target.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from fraudstack.settings import EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY, Settings

_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=120)


def client(service: str, settings: Settings, **kwargs: Any) -> Any:
    """A boto3 client for ``service`` on the configured target (emulator or AWS)."""
    options: dict[str, Any] = {"region_name": settings.aws_region, "config": _RETRIES}
    if settings.is_local:
        options.update(
            endpoint_url=settings.aws_endpoint_url,
            aws_access_key_id=EMULATOR_ACCESS_KEY_ID,
            aws_secret_access_key=EMULATOR_SECRET_ACCESS_KEY,
        )
    options.update(kwargs)
    return boto3.session.Session().client(service, **options)  # type: ignore[call-overload]
