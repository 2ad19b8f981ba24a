"""The model registry: versioned artifacts in S3 and a ``current`` pointer.

Layout under ``s3://<artifacts bucket>/models/``::

    <version>/model.ubj        the XGBoost booster (universal binary JSON)
    <version>/manifest.json    features, feature version, threshold, metrics, data range, code version
    <version>/report.json|md   the evaluation report, plots under <version>/plots/
    current.json               {"version": ..., "updated_at": ..., "reason": ...}

Why a pointer object rather than "latest": a new model becomes current only when it is not
worse than the current one on the same test window (:mod:`fraudstack.model.training`
decides), and the Glue inference job and the streaming scorer read the pointer to know what
to load - the scorer polls :func:`current_version` to hot-swap. Every prediction records
the version that made it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import xgboost as xgb
from botocore.exceptions import ClientError, EndpointConnectionError

from fraudstack.aws import client
from fraudstack.errors import FraudstackError
from fraudstack.model.scoring import FraudModel
from fraudstack.settings import Settings

PREFIX = "models/"
MODEL_FILE = "model.ubj"
MANIFEST_FILE = "manifest.json"
POINTER_KEY = f"{PREFIX}current.json"
_CONTENT_TYPES = {".json": "application/json", ".md": "text/markdown", ".png": "image/png"}


def bucket(settings: Settings) -> str:
    return settings.artifacts_bucket or settings.bucket


def version_uri(settings: Settings, version: str) -> str:
    return f"s3://{bucket(settings)}/{PREFIX}{version}/"


@contextmanager
def _s3_errors(settings: Settings) -> Iterator[None]:
    """Turn an absent bucket or an unreachable endpoint into one actionable line."""
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            raise FraudstackError(
                f"model registry bucket '{bucket(settings)}' does not exist: run 'fraudstack deploy' first"
            ) from None
        raise
    except EndpointConnectionError as exc:
        raise FraudstackError(f"cannot reach S3 ({exc}): is the stack up ('fraudstack stack up')?") from None


def _get(settings: Settings, key: str, s3: Any | None = None) -> bytes | None:
    """An object's bytes, or None when the key does not exist (``s3``: a client to reuse)."""
    with _s3_errors(settings):
        try:
            body = (s3 or client("s3", settings)).get_object(Bucket=bucket(settings), Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        data: bytes = body.read()
    return data


def model_to_bytes(model: FraudModel) -> bytes:
    return bytes(model.booster.save_raw("ubj"))


def model_from_bytes(raw: bytes, manifest: dict[str, Any]) -> FraudModel:
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    return FraudModel(
        booster=booster,
        features=tuple(manifest["features"]),
        threshold=float(manifest["threshold"]),
        version=str(manifest["version"]),
        manifest=manifest,
    )


def save_local(model: FraudModel, directory: Path) -> None:
    """Write the model file and manifest into an artifact directory (reports go beside them)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MODEL_FILE).write_bytes(model_to_bytes(model))
    (directory / MANIFEST_FILE).write_text(json.dumps(model.manifest, indent=2, sort_keys=True) + "\n")


def load_local(directory: Path) -> FraudModel:
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    return model_from_bytes((directory / MODEL_FILE).read_bytes(), manifest)


def publish(settings: Settings, directory: Path) -> str:
    """Upload an artifact directory as ``models/<version>/``; returns its S3 URI.

    Does not change ``current``: see :func:`set_current`. Publishing the same version twice
    overwrites it with identical content (training is deterministic for a given version).
    """
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    version = manifest["version"]
    s3 = client("s3", settings)
    with _s3_errors(settings):
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            key = f"{PREFIX}{version}/{path.relative_to(directory).as_posix()}"
            content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
            s3.put_object(Bucket=bucket(settings), Key=key, Body=path.read_bytes(), ContentType=content_type)
    return version_uri(settings, version)


def list_versions(settings: Settings) -> list[str]:
    """Published versions, oldest first (versions start with their UTC creation time)."""
    s3 = client("s3", settings)
    found: list[str] = []
    with _s3_errors(settings):
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket(settings), Prefix=PREFIX, Delimiter="/"
        )
        for page in pages:
            found.extend(p["Prefix"][len(PREFIX) : -1] for p in page.get("CommonPrefixes", []))
    return sorted(found)


def load_manifest(settings: Settings, version: str, s3: Any | None = None) -> dict[str, Any]:
    raw = _get(settings, f"{PREFIX}{version}/{MANIFEST_FILE}", s3)
    if raw is None:
        raise FraudstackError(
            f"model version '{version}' is not in the registry {version_uri(settings, version)}"
        )
    manifest: dict[str, Any] = json.loads(raw)
    return manifest


def load_model(settings: Settings, version: str, s3: Any | None = None) -> FraudModel:
    manifest = load_manifest(settings, version, s3)
    raw = _get(settings, f"{PREFIX}{version}/{MODEL_FILE}", s3)
    if raw is None:
        raise FraudstackError(f"model version '{version}' has a manifest but no {MODEL_FILE}")
    return model_from_bytes(raw, manifest)


def current_version(settings: Settings, s3: Any | None = None) -> str | None:
    """The version the pointer names, or None before any model was promoted.

    Cheap to poll with a client to reuse (``s3``): creating a boto3 client costs 0.1-0.2 s of
    CPU, which a poller would otherwise spend every time.
    """
    raw = _get(settings, POINTER_KEY, s3)
    return None if raw is None else str(json.loads(raw)["version"])


def set_current(settings: Settings, version: str, reason: str) -> None:
    """Point ``current`` at a published version."""
    load_manifest(settings, version)  # refuses a version that was never published
    pointer = {"version": version, "updated_at": datetime.now(UTC).isoformat(), "reason": reason}
    with _s3_errors(settings):
        client("s3", settings).put_object(
            Bucket=bucket(settings),
            Key=POINTER_KEY,
            Body=json.dumps(pointer).encode(),
            ContentType="application/json",
        )


def load_current_model(settings: Settings) -> FraudModel:
    """The current model; a clear error when none has been trained yet."""
    version = current_version(settings)
    if version is None:
        raise FraudstackError(
            f"no current model in s3://{bucket(settings)}/{PREFIX}: run 'fraudstack train' first"
        )
    return load_model(settings, version)
