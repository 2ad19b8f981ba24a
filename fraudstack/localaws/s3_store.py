"""The emulator's S3 on disk: every acknowledged change is written through, and restored at start.

Why: moto keeps S3 in memory, so a ``stack down`` / ``up`` (or a crash) emptied the lake and
the model registry while the warehouse, in PostgreSQL's data directory, kept rows that
pointed at them. Why write-through rather than a snapshot at shutdown: a ``kill -9`` must
not lose an object the client was told is stored. The S3 patches (:mod:`.patches`) note
which buckets and keys a request changed; before the response leaves the server,
:meth:`S3Store.flush` writes each one's *current* state (present: its file; gone: no file),
so the disk always converges on what moto holds, whatever order concurrent requests
finish in. Outside a request (in-process use) a change is written at once.

Layout under ``root`` (``$FRAUDSTACK_STATE_DIR/emulator/s3``)::

    <bucket>/bucket.json                  account, partition, region, creation date
    <bucket>/objects/<hh>/<sha256(key)>   one JSON header line (key, etag, metadata, ...), then the body

A file is written to a temporary name and renamed, so a crash leaves the old version or
the new one, never half of one. Files are not fsynced: they survive the emulator being
killed, not the machine losing power. Kept: bucket names, object bodies, ETags,
last-modified times, metadata (Content-Type, ``x-amz-meta-*``), storage class, encryption
and checksums. Not kept: bucket settings (encryption, public access block: ``fraudstack
deploy`` sets them again), object versions other than the latest, tags, ACLs and
multipart uploads that were never completed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

#: Striped locks: one key's "read moto's state, write the file" never interleaves with another's.
_STRIPES = 64


@dataclass(frozen=True)
class Restored:
    """What :meth:`S3Store.restore` loaded."""

    buckets: int
    objects: int
    seconds: float


class S3Store:
    """Write-through persistence of moto's S3 backends under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks = [threading.Lock() for _ in range(_STRIPES)]
        self._request = threading.local()
        self._restoring = False

    # --- change tracking (called by the patches) ---------------------------------------------------
    def begin_request(self) -> None:
        """Collect this thread's changes until :meth:`flush` (the server wraps every request)."""
        self._request.changed = {}

    def changed(self, bucket: str, key: str | None = None) -> None:
        """Note that a bucket (``key`` None) or one of its objects changed in moto."""
        if self._restoring:
            return
        pending: dict[tuple[str, str | None], None] | None = getattr(self._request, "changed", None)
        if pending is None:
            self._write(bucket, key)
        else:
            pending[(bucket, key)] = None

    def flush(self) -> None:
        """Write what this thread's request changed; the response is sent only after this."""
        pending: dict[tuple[str, str | None], None] = getattr(self._request, "changed", None) or {}
        self._request.changed = None
        for bucket, key in pending:
            self._write(bucket, key)

    # --- writing -----------------------------------------------------------------------------------
    def _write(self, bucket_name: str, key_name: str | None) -> None:
        from moto.s3.models import s3_backends

        lock = self._locks[hash((bucket_name, key_name)) % _STRIPES]
        with lock:
            owner = s3_backends.bucket_accounts.get(bucket_name)
            bucket = None
            if owner is not None:
                partition, account_id = owner
                bucket = s3_backends[account_id][partition].buckets.get(bucket_name)
            if key_name is None:
                self._write_bucket(bucket_name, bucket)
            else:
                self._write_object(bucket_name, key_name, bucket)

    def _bucket_dir(self, bucket_name: str) -> Path:
        return self.root / bucket_name

    def _object_path(self, bucket_name: str, key_name: str) -> Path:
        digest = hashlib.sha256(key_name.encode()).hexdigest()
        return self._bucket_dir(bucket_name) / "objects" / digest[:2] / digest

    def _write_bucket(self, bucket_name: str, bucket: Any) -> None:
        folder = self._bucket_dir(bucket_name)
        if bucket is None:
            shutil.rmtree(folder, ignore_errors=True)
            return
        record = {
            "name": bucket.name,
            "account_id": bucket.account_id,
            "partition": bucket.partition,
            "region": bucket.region_name,
            "created": bucket.creation_date.isoformat(),
        }
        write_atomically(folder / "bucket.json", json.dumps(record).encode())

    def _write_object(self, bucket_name: str, key_name: str, bucket: Any) -> None:
        from moto.s3.models import FakeKey

        path = self._object_path(bucket_name, key_name)
        key = bucket.keys.get(key_name) if bucket is not None else None
        if not isinstance(key, FakeKey):  # gone, or a delete marker on top
            path.unlink(missing_ok=True)
            return
        header = {
            "key": key.name,
            "etag": key.etag.strip('"'),
            "last_modified": key.last_modified.isoformat(),
            "metadata": dict(key.metadata),
            "storage": key.storage_class,
            "encryption": key.encryption,
            "kms_key_id": key.kms_key_id,
            "checksum_algorithm": key.checksum_algorithm,
            "checksum_value": key.checksum_value,
            "checksum_type": key.checksum_type,  # COMPOSITE for multipart: clients validate accordingly
            "checksum_parts": key.checksum_parts,
        }
        write_atomically(path, json.dumps(header).encode() + b"\n" + key.value)

    # --- restoring ---------------------------------------------------------------------------------
    def restore(self) -> Restored:
        """Load every stored bucket and object into moto (before the server accepts requests)."""
        from moto.s3.models import s3_backends

        started = time.monotonic()
        buckets = objects = 0
        self._restoring = True
        try:
            for record_file in sorted(self.root.glob("*/bucket.json")):
                record = json.loads(record_file.read_text())
                backend = s3_backends[record["account_id"]][record["partition"]]
                bucket = backend.create_bucket(record["name"], record["region"])
                bucket.creation_date = datetime.fromisoformat(record["created"])
                buckets += 1
                for path in (record_file.parent / "objects").glob("*/*"):
                    if path.name.endswith(".tmp"):  # a write the emulator was killed in
                        path.unlink(missing_ok=True)
                        continue
                    self._restore_object(backend, bucket.name, path)
                    objects += 1
        finally:
            self._restoring = False
        return Restored(buckets, objects, time.monotonic() - started)

    @staticmethod
    def _restore_object(backend: Any, bucket_name: str, path: Path) -> None:
        with path.open("rb") as stored:
            header = json.loads(stored.readline())
            body = stored.read()
        # Fields beyond key, etag and last_modified may be missing: files from before they were kept.
        key = backend.put_object(
            bucket_name,
            header["key"],
            body,
            storage=header.get("storage"),
            etag=header["etag"],
            encryption=header.get("encryption"),
            kms_key_id=header.get("kms_key_id"),
            checksum_value=header.get("checksum_value"),
            disable_notification=True,
        )
        key.set_metadata(header.get("metadata", {}), replace=True)
        key.checksum_algorithm = header.get("checksum_algorithm")
        key.checksum_type = header.get("checksum_type")
        key.checksum_parts = header.get("checksum_parts")
        key.last_modified = datetime.fromisoformat(header["last_modified"])


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
