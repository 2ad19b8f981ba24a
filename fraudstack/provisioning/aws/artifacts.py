"""The code artifacts of the AWS deploy: what to build, where it goes, which parameter names it.

Why content-addressed keys: a key that changes exactly when the bytes change makes
CloudFormation update a Lambda or Glue job only when its code changed, makes uploads
skippable (an existing key already holds those bytes), and keeps old versions for rollback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from fraudstack.provisioning.aws import parameters
from fraudstack.provisioning.aws.template import (
    GLUE_LIBRARY_PREFIX,
    GLUE_WHEELS_PREFIX,
    AwsDeclaration,
)
from fraudstack.provisioning.packaging import (
    GLUE_DEPENDENCIES,
    GLUE_PROVIDED,
    LAMBDA_PROVIDED,
    RUNTIME_DEPENDENCIES,
    build_dependency_layer,
    build_glue_library,
    download_wheels,
    pinned_closure,
)
from fraudstack.settings import Settings


@dataclass(frozen=True)
class Artifact:
    """One object for the artifacts bucket and the template parameter that names its key."""

    key: str
    data: bytes
    parameter: str

    @property
    def sha256_hex(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Package:
    """Everything ``fraudstack package`` builds."""

    artifacts: tuple[Artifact, ...]

    def parameter_values(self, bucket: str) -> dict[str, str]:
        """Template parameter values: artifact keys, and the Glue wheels as one list of S3 URIs."""
        values: dict[str, str] = {}
        wheels = []
        for artifact in self.artifacts:
            if artifact.parameter == parameters.GLUE_MODULES.name:
                wheels.append(f"s3://{bucket}/{artifact.key}")
            else:
                values[artifact.parameter] = artifact.key
        values[parameters.GLUE_MODULES.name] = ",".join(wheels)
        return values


def cache_dir(settings: Settings) -> Path:
    """Where the layer and wheels are kept between builds (in the state directory, never committed)."""
    return settings.state_path / "artifacts-cache"


def dependency_layer(cache_dir: Path) -> Artifact:
    """The Lambda dependencies layer, built once per set of pins and kept in ``cache_dir``.

    Building fetches wheels (pip's cache or index); the pins decide the bytes, so a cached
    zip for the same pins is the same artifact.
    """
    pins = pinned_closure(RUNTIME_DEPENDENCIES)
    cached = cache_dir / f"layer-{hashlib.sha256(' '.join(pins).encode()).hexdigest()[:16]}.zip"
    if not cached.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(build_dependency_layer(pins).data)
    data = cached.read_bytes()
    key = f"lambda/layers/dependencies-{hashlib.sha256(data).hexdigest()}.zip"
    return Artifact(key, data, parameters.LAMBDA_LAYER_KEY.name)


def glue_wheels(cache_dir: Path) -> list[Artifact]:
    """The wheels of the Glue jobs' dependencies (their installed versions), downloaded once per pin set."""
    pins = pinned_closure(GLUE_DEPENDENCIES, exclude=LAMBDA_PROVIDED | GLUE_PROVIDED)
    folder = cache_dir / f"glue-wheels-{hashlib.sha256(' '.join(pins).encode()).hexdigest()[:16]}"
    if not (folder / "complete").is_file():
        download_wheels(pins, folder)
        (folder / "complete").touch()
    artifacts = []
    for wheel in sorted(folder.glob("*.whl")):
        data = wheel.read_bytes()
        key = f"{GLUE_WHEELS_PREFIX}{hashlib.sha256(data).hexdigest()}/{wheel.name}"
        artifacts.append(Artifact(key, data, parameters.GLUE_MODULES.name))
    return artifacts


def build(declaration: AwsDeclaration, cache_dir: Path) -> Package:
    """Build every artifact the template's parameters refer to (deterministic bytes).

    ``cache_dir`` keeps the dependency layer and the Glue wheels between builds (the slow part).
    """
    artifacts: list[Artifact] = []
    if parameters.LAMBDA_LAYER_KEY in declaration.parameters:
        artifacts.append(dependency_layer(cache_dir))
    pipeline = declaration.shared.pipeline
    for job in pipeline.jobs:
        body = job.script.read_bytes()
        key = f"glue/scripts/{hashlib.sha256(body).hexdigest()}/{job.script.name}"
        artifacts.append(Artifact(key, body, parameters.code_key(job.logical_id).name))
    function = pipeline.alert_handler
    package = function.package()
    artifacts.append(
        Artifact(
            f"lambda/{function.name}/{package.sha256_hex}.zip",
            package.zip_bytes,
            parameters.code_key(function.logical_id).name,
        )
    )
    library = build_glue_library(job.script for job in pipeline.jobs)
    artifacts.append(
        Artifact(
            f"{GLUE_LIBRARY_PREFIX}fraudstack-{library.sha256_hex}.zip",
            library.data,
            parameters.GLUE_LIBRARY_KEY.name,
        )
    )
    artifacts += glue_wheels(cache_dir)
    return Package(artifacts=tuple(artifacts))


def upload(package: Package, s3: Any, bucket: str, echo: Callable[[str], None]) -> int:
    """Put each artifact whose key is not in ``bucket`` yet; return how many were uploaded."""
    uploaded = 0
    for artifact in package.artifacts:
        try:
            s3.head_object(Bucket=bucket, Key=artifact.key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in {"404", "NoSuchKey", "NotFound"}:
                raise
            s3.put_object(Bucket=bucket, Key=artifact.key, Body=artifact.data)
            uploaded += 1
            echo(f"uploaded   s3://{bucket}/{artifact.key}  ({len(artifact.data):,} bytes)")
        else:
            echo(f"unchanged  s3://{bucket}/{artifact.key}")
    return uploaded
