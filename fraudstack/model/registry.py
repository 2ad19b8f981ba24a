"""The model registry: versioned artifacts in S3 and a ``current`` pointer.

Layout under ``s3://<artifacts bucket>/models/``::

    <version>/model.ubj        the XGBoost booster (universal binary JSON)
    <version>/manifest.json    features, feature version, threshold, metrics, data range, code version,
                               drift reference histograms (fraudstack.model.drift)
    <version>/report.json|md   the evaluation report, plots under <version>/plots/
    current.json               {"version", "previous", "updated_at", "action", "reason"}
    challenger.json            {"version", "staged_at", "reason"}: the challenger the streaming
                               scorer scores in shadow (absent: none staged)

and beside it, ``s3://<artifacts bucket>/model-history/<time>-<action>-<version>.json``: one
object per promotion, refusal or rollback - when, by what, why, the version it replaced and
the gate's figures.

Why a pointer object rather than "latest": a new model becomes current only when it is not
worse than the current one on the same test window (the gate, :mod:`fraudstack.model.gate`,
decides), and the Glue inference job and the streaming scorer read the pointer to know what
to load - the scorer polls :func:`current_version` to hot-swap. Every prediction records
the version that made it.

Why the history is one object per event and not one growing file: S3 has no append, and two
writers rewriting one log would lose each other's entries; keys that sort by time list in
order. A rollback follows it: the version to restore is the one the current model replaced
when it was promoted (:func:`rollback`), so repeated rollbacks walk back along the chain of
promotions instead of toggling between two models.
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
from fraudstack.model.fraud_model import FraudModel
from fraudstack.settings import Settings

PREFIX = "models/"
MODEL_FILE = "model.ubj"
MANIFEST_FILE = "manifest.json"
POINTER_KEY = f"{PREFIX}current.json"
CHALLENGER_KEY = f"{PREFIX}challenger.json"
HISTORY_PREFIX = "model-history/"
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


def pointer(settings: Settings) -> dict[str, Any] | None:
    """The ``current`` pointer (version, the version it replaced, by which action, why), or None."""
    raw = _get(settings, POINTER_KEY)
    return None if raw is None else dict(json.loads(raw))


def _put_json(settings: Settings, key: str, value: dict[str, Any]) -> None:
    with _s3_errors(settings):
        client("s3", settings).put_object(
            Bucket=bucket(settings),
            Key=key,
            Body=json.dumps(value, sort_keys=True).encode(),
            ContentType="application/json",
        )


def record(settings: Settings, action: str, version: str, reason: str, **details: Any) -> dict[str, Any]:
    """Add one event to the registry's history (``promote``, ``refuse``, ``rollback``); returns it."""
    at = datetime.now(UTC)
    event = {"at": at.isoformat(), "action": action, "version": version, "reason": reason, **details}
    _put_json(settings, f"{HISTORY_PREFIX}{at:%Y%m%dT%H%M%S%fZ}-{action}-{version}.json", event)
    return event


def _history_keys(settings: Settings, s3: Any) -> list[str]:
    keys: list[str] = []
    with _s3_errors(settings):
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket(settings), Prefix=HISTORY_PREFIX
        ):
            keys.extend(o["Key"] for o in page.get("Contents", []))
    return sorted(keys)


def history(settings: Settings, version: str | None = None) -> list[dict[str, Any]]:
    """Every recorded event, oldest first; only ``version``'s when given.

    A version's events are found by their key (which ends in the version), so reading one
    version's history costs a GET per event of that version, not per event ever recorded.
    """
    s3 = client("s3", settings)
    keys = [k for k in _history_keys(settings, s3) if version is None or k.endswith(f"-{version}.json")]
    events = [json.loads(raw) for key in keys if (raw := _get(settings, key, s3)) is not None]
    return [e for e in events if version is None or e["version"] == version]


def last_actions(settings: Settings) -> dict[str, tuple[str, str]]:
    """Version -> (action, UTC time ``YYYYMMDDTHHMMSSffffffZ``) of its latest event, from the keys alone."""
    found: dict[str, tuple[str, str]] = {}
    for key in _history_keys(settings, client("s3", settings)):
        at, action, version = key[len(HISTORY_PREFIX) : -len(".json")].split("-", 2)
        found[version] = (action, at)
    return found


def set_current(
    settings: Settings,
    version: str,
    reason: str,
    *,
    action: str = "promote",
    by: str = "fraudstack.model.registry",
    gate: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Point ``current`` at a published version and record why, by what and what it replaced.

    The history event is written before the pointer: a crash between the two leaves an event
    for a move that did not happen (visible: the pointer names another version), never a
    move without its event, which :func:`rollback` would not know how to undo.
    """
    load_manifest(settings, version)  # refuses a version that was never published
    previous = current_version(settings)
    event = record(settings, action, version, reason, previous=previous, by=by, gate=gate)
    pointer = {
        "version": version,
        "previous": previous,
        "updated_at": event["at"],
        "action": action,
        "reason": reason,
    }
    _put_json(settings, POINTER_KEY, pointer)
    if staged_version(settings) == version:  # the challenger is the champion now: no shadow of itself
        _delete(settings, CHALLENGER_KEY)
    return event


def _delete(settings: Settings, key: str) -> None:
    with _s3_errors(settings):
        client("s3", settings).delete_object(Bucket=bucket(settings), Key=key)


def staged_version(settings: Settings, s3: Any | None = None) -> str | None:
    """The challenger staged for shadow scoring, or None (cheap to poll with a reused ``s3``)."""
    raw = _get(settings, CHALLENGER_KEY, s3)
    return None if raw is None else str(json.loads(raw)["version"])


def stage(
    settings: Settings, version: str, reason: str, by: str = "fraudstack model stage"
) -> dict[str, Any]:
    """Stage a published version as the challenger: the streaming scorer scores every transaction
    with it in shadow (decisions still come from ``current``) until it is promoted or unstaged."""
    load_manifest(settings, version)  # refuses a version that was never published
    if version == current_version(settings):
        raise FraudstackError(f"model version '{version}' is the current model: nothing to compare it with")
    event = record(settings, "stage", version, reason, by=by, champion=current_version(settings))
    _put_json(settings, CHALLENGER_KEY, {"version": version, "staged_at": event["at"], "reason": reason})
    return event


def unstage(settings: Settings, reason: str, by: str = "fraudstack model unstage") -> dict[str, Any]:
    """Stop shadow scoring: remove the staged challenger (its version stays published)."""
    version = staged_version(settings)
    if version is None:
        raise FraudstackError("no challenger is staged")
    event = record(settings, "unstage", version, reason, by=by)
    _delete(settings, CHALLENGER_KEY)
    return event


def rollback(settings: Settings, reason: str, by: str = "fraudstack model rollback") -> dict[str, Any]:
    """Make current again the version the current one replaced when it was last promoted."""
    version = current_version(settings)
    if version is None:
        raise FraudstackError("no current model to roll back")
    promotions = [e for e in history(settings, version) if e["action"] == "promote"]
    previous = promotions[-1].get("previous") if promotions else None
    if previous is None:
        raise FraudstackError(f"no model before {version} in the registry's history to roll back to")
    return set_current(settings, previous, reason, action="rollback", by=by)


def load_current_model(settings: Settings) -> FraudModel:
    """The current model; a clear error when none has been trained yet."""
    version = current_version(settings)
    if version is None:
        raise FraudstackError(
            f"no current model in s3://{bucket(settings)}/{PREFIX}: run 'fraudstack train' first"
        )
    return load_model(settings, version)
