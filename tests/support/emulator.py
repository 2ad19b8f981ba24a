"""Helpers for tests that drive the AWS emulator's APIs directly (tests/localaws)."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

#: The ``aws`` fixture: ``aws("s3")`` is a boto3 client on the emulator.
Aws = Callable[[str], Any]


def unique(prefix: str) -> str:
    """A resource name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def upload(aws: Aws, bucket: str, key: str, body: bytes) -> str:
    aws("s3").put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def create_job(aws: Aws, role: str, script: str, arguments: dict[str, str]) -> str:
    name = unique("job")
    aws("glue").create_job(
        Name=name,
        Role=role,
        Command={"Name": "glueetl", "ScriptLocation": script, "PythonVersion": "3"},
        DefaultArguments=arguments,
        GlueVersion="5.0",
    )
    return name


def zip_of(files: dict[str, str]) -> bytes:
    """A deployment package holding ``files``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()
