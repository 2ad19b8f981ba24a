"""The emulator's Kinesis streams on disk: every accepted record is logged, and restored at start.

Why: the bridge commits its Kafka offsets once Kinesis accepted a batch, and moto keeps
streams in memory, so a ``kill -9`` of the emulator lost every record Firehose had not yet
delivered to S3 (thousands in a chaos run: BENCHMARKS.md, "Chaos"). Why a per-shard
append-only log written inside the put, rather than a snapshot: a record must be on disk
before PutRecord(s) answers, and an append of one line is the cheapest write that gives
that. The patches (:mod:`.patches`) call :meth:`KinesisStore.created`,
:meth:`KinesisStore.deleted` and :meth:`KinesisStore.appended`.

Layout under ``root`` (``$FRAUDSTACK_STATE_DIR/emulator/kinesis``)::

    <account>/<region>/<stream>/stream.json        shard count, mode, retention, creation time
    <account>/<region>/<stream>/<shard id>.log     one line per record (:func:`_line`)

Restoring recreates each stream with its shard count (so the same shard ids and hash
ranges) and puts each record back under its own sequence number and arrival time, so
iterators, ``AFTER_SEQUENCE_NUMBER`` positions kept by a consumer (the local Firehose's,
:mod:`.firehose_delivery`) and ``AT_TIMESTAMP`` mean what they meant before. Records older
than the stream's retention are dropped then, and the log is rewritten without them; moto
itself never trims, so between restarts the log grows as moto's memory does.

Not fsynced (like :mod:`.s3_store`): records survive the emulator being killed, not the
machine losing power. Not kept: resharding (UpdateShardCount, SplitShard, MergeShards: a
stream comes back with the shard count it was created with, and records of shards it no
longer has are skipped with a warning), retention changes, tags, encryption and consumers.

Records are logged at the end of the request that put them (:meth:`KinesisStore.flush`, one
write per shard: a PutRecords of 500 was 500 writes, 20-70% more time per put). Known gap:
a reader that fetched a record in that window of milliseconds, and a kill before the write,
leaves a sequence number the reader has seen but the log has not; after the restart a new
record gets that number again. The local Firehose resumes *after* a delivered number, so it
would skip that new record - only if it had also delivered the unlogged one and saved its
position within those milliseconds.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fraudstack.localaws.s3_store import write_atomically

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Restored:
    """What :meth:`KinesisStore.restore` loaded (and dropped past retention)."""

    streams: int
    records: int
    expired: int
    seconds: float


class KinesisStore:
    """Write-ahead persistence of moto's Kinesis streams under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.RLock()  # re-entrant: an append may describe its stream first
        self._files: dict[Path, int] = {}  # open append descriptors, one per shard log
        self._request = threading.local()
        self._restoring = False

    def _stream_dir(self, stream: Any) -> Path:
        return self.root / stream.account_id / stream.region / stream.stream_name

    # --- writing (called by the patches) -------------------------------------------------------------
    def created(self, stream: Any) -> None:
        """Record a new stream; an old log under its name (a stream deleted meanwhile) goes."""
        if self._restoring:
            return
        folder = self._stream_dir(stream)
        self._forget(folder)
        shutil.rmtree(folder, ignore_errors=True)
        record = {
            "name": stream.stream_name,
            "shard_count": len(stream.shards),
            "stream_mode": stream.stream_mode,
            "retention_hours": stream.retention_period_hours,
            "created": stream.creation_datetime.isoformat(),
        }
        write_atomically(folder / "stream.json", json.dumps(record).encode())

    def deleted(self, stream: Any) -> None:
        """Remove a deleted stream's logs."""
        folder = self._stream_dir(stream)
        self._forget(folder)
        shutil.rmtree(folder, ignore_errors=True)

    def begin_request(self) -> None:
        """Collect this thread's records until :meth:`flush` (the server wraps every request)."""
        self._request.pending = {}

    def appended(self, stream: Any, shard_id: str, record: Any) -> None:
        """Log one accepted record: at the request's :meth:`flush`, or at once outside a request."""
        line = _line(
            record.sequence_number,
            record.created_at,
            record.explicit_hash_key,
            record.data,
            record.partition_key,
        )
        path = self._stream_dir(stream) / f"{shard_id}.log"
        pending: dict[Path, tuple[Any, list[bytes]]] | None = getattr(self._request, "pending", None)
        if pending is None:
            self._write(stream, path, line)
        else:
            pending.setdefault(path, (stream, []))[1].append(line)

    def flush(self) -> None:
        """Append what this thread's request put, one write per shard; the response waits for it."""
        pending: dict[Path, tuple[Any, list[bytes]]] = getattr(self._request, "pending", None) or {}
        self._request.pending = None
        for path, (stream, lines) in pending.items():
            self._write(stream, path, b"".join(lines))

    def _write(self, stream: Any, path: Path, lines: bytes) -> None:
        """One ``write`` on an ``O_APPEND`` descriptor: the lines are then in the kernel's page
        cache, which a killed process cannot take with it. Concurrent requests' lines may
        interleave out of sequence order; :meth:`restore` sorts them."""
        with self._lock:
            fd = self._files.get(path)
            if fd is None:
                if not path.parent.is_dir():  # created before the store (in-process use): describe it now
                    self.created(stream)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                self._files[path] = fd
            os.write(fd, lines)

    def _forget(self, folder: Path) -> None:
        with self._lock:
            for path in [p for p in self._files if p.parent == folder]:
                os.close(self._files.pop(path))

    # --- restoring -------------------------------------------------------------------------------------
    def restore(self) -> Restored:
        """Recreate every stored stream with its records (before the server accepts requests)."""
        from moto.kinesis.models import kinesis_backends

        started = time.monotonic()
        streams = records = expired = 0
        self._restoring = True
        try:
            for record_file in sorted(self.root.glob("*/*/*/stream.json")):
                folder = record_file.parent
                region, account_id = folder.parent.name, folder.parent.parent.name
                meta = json.loads(record_file.read_text())
                stream = kinesis_backends[account_id][region].create_stream(
                    meta["name"],
                    meta["shard_count"],
                    stream_mode=meta["stream_mode"],
                    retention_period_hours=meta["retention_hours"],
                )
                stream.creation_datetime = datetime.fromisoformat(meta["created"])
                streams += 1
                oldest = time.time() - stream.retention_period_hours * 3600
                for path in sorted(folder.glob("*.log")):
                    kept, dropped = self._restore_shard(stream, path, oldest)
                    records += kept
                    expired += dropped
        finally:
            self._restoring = False
        return Restored(streams, records, expired, time.monotonic() - started)

    @staticmethod
    def _restore_shard(stream: Any, path: Path, oldest: float) -> tuple[int, int]:
        """Put one shard's logged records back in sequence order; rewrite the log if some expired."""
        from moto.kinesis.models import Record

        shard = stream.shards.get(path.stem)
        if shard is None:
            log.warning(
                "kinesis: %s has no shard %s (resharded?); its log is skipped", stream.stream_name, path.stem
            )
            return 0, 0
        entries = []
        for line in path.read_bytes().splitlines():
            try:
                fields = line.decode().split("\t", 4)
                entries.append(
                    (int(fields[0]), float(fields[1]), fields[2] or None, fields[3], json.loads(fields[4]))
                )
            except (ValueError, IndexError):  # a full disk at most; that put was never answered
                log.warning("kinesis: unreadable line in %s skipped", path)
        live = sorted(e for e in entries if e[1] >= oldest)
        for number, arrival, hash_key, data, key in live:
            record = Record(key, data, number, hash_key)  # type: ignore[arg-type]  # moto allows None
            record.created_at = arrival
            record.created_at_datetime = datetime.fromtimestamp(arrival, UTC).replace(tzinfo=None)
            shard.records[number] = record
        if len(live) < len(entries):
            write_atomically(path, b"".join(_line(n, t, h, d, k) for n, t, h, d, k in live))
        return len(live), len(entries) - len(live)


def _line(number: int, arrival: float, hash_key: str | None, data: str, key: str) -> bytes:
    """``number TAB arrival TAB explicit hash key TAB base64 data TAB JSON partition key NL``.

    Why not a JSON object: ``json.dumps`` of a record scans its ~1 kB of base64 for characters
    to escape, several times the cost of the write itself, and the put holds it up. Base64,
    numbers and the hash key (decimal digits) hold no tab or newline; only the partition key,
    any string, is JSON-encoded.
    """
    return f"{number}\t{arrival!r}\t{hash_key or ''}\t{data}\t{json.dumps(key)}\n".encode()
