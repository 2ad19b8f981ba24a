"""Per-partition feature state and its S3 snapshots.

Why snapshot + replay rather than a changelog topic or a replay window:

* the features include whole-history counts and a 30-day "seen before" memory, so replaying
  a bounded window cannot rebuild them exactly;
* a changelog record per touched card per batch would multiply the bytes the broker
  carries (a card's state is ~0.5 KB, an event ~0.6 KB) and Tansu has no log compaction
  to keep it small;
* the state is a deterministic function of the partition's events in offset order, so a
  snapshot taken *at a committed offset* ``S`` plus a replay of the records ``[S, C)``
  (``C`` = the committed offset at assignment) rebuilds it exactly. Records below ``C`` are
  replayed into the state only; their decisions were already produced before ``C`` was
  committed.

A snapshot is captured at a checkpoint cut (every record below offset ``S`` applied),
serialised a slice at a time between batches (:class:`fraudstack.features.snapshot.Capture`:
copy-on-write, so it is the state at ``S`` even as the loop goes on), compressed on the
upload thread, and uploaded only once the commit of ``S`` succeeded, so a snapshot's offset is
never ahead of the group's committed offset. They are keyed by that offset
(``<prefix><group>/<topic>/<partition>/<offset:020d>.snap``) and a reader takes the
newest one at or below the committed offset, so a late write by a scorer that has lost the
partition can never replace newer state. The two newest snapshots per partition are kept.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from fraudstack import aws
from fraudstack.features import OnlineFeatures
from fraudstack.features.snapshot import Capture
from fraudstack.model.registry import bucket as artifacts_bucket
from fraudstack.settings import Settings

log = logging.getLogger(__name__)

_KEEP = 2
_SUFFIX = ".snap"


@dataclass
class PartitionState:
    """What the scorer holds for one assigned partition.

    ``resume_at``: records below this offset were decided before (by us or a previous
    owner) and only rebuild the state. ``position``: the offset after the last record
    applied (what a commit stores). ``snapshot_at``: offset of the newest snapshot.
    ``capture``: a snapshot in the making, of the state at offset ``capture_at``.
    """

    features: OnlineFeatures
    resume_at: int
    position: int
    snapshot_at: int
    committed: int = field(init=False)
    capture: Capture | None = None
    capture_at: int = 0

    def __post_init__(self) -> None:
        self.committed = self.resume_at

    @property
    def replaying(self) -> bool:
        return self.position < self.resume_at

    def start_capture(self) -> None:
        """Begin a snapshot of the state at the current position."""
        self.capture, self.capture_at = self.features.capture(), self.position

    def advance_capture(self, seconds: float) -> Capture | None:
        """Serialise for about ``seconds``; the capture once complete and committed (and no longer held)."""
        capture = self.capture
        if capture is None or not capture.step(seconds) or self.committed < self.capture_at:
            return None
        self.capture = None
        self.snapshot_at = self.capture_at
        return capture


class SnapshotStore:
    """Snapshots of one consumer group's per-partition state, in the artifacts bucket.

    Compression and uploads run on one background thread (in order), so the scoring loop
    pays only for serialising, a slice per batch; :meth:`wait` blocks until they are durable
    (before a partition is given away).
    """

    def __init__(self, settings: Settings, group: str, topic: str) -> None:
        self._s3 = aws.client("s3", settings)
        self._bucket = artifacts_bucket(settings)
        self._prefix = f"{settings.scorer_state_prefix}{group}/{topic}/"
        self._uploads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot-upload")
        self._pending: list[Future[None]] = []

    def _key(self, partition: int, offset: int) -> str:
        return f"{self._prefix}{partition}/{offset:020d}{_SUFFIX}"

    def _offsets(self, partition: int) -> list[int]:
        """Snapshot offsets of a partition, ascending."""
        prefix = f"{self._prefix}{partition}/"
        found: list[int] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(prefix) :]
                if name.endswith(_SUFFIX) and name[: -len(_SUFFIX)].isdigit():
                    found.append(int(name[: -len(_SUFFIX)]))
        return sorted(found)

    def save(self, partition: int, offset: int, capture: Capture) -> None:
        """Compress and upload a complete capture of the state at ``offset``, in the background."""
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._uploads.submit(self._upload, partition, offset, capture))

    def _upload(self, partition: int, offset: int, capture: Capture) -> None:
        blob = capture.blob()
        try:
            self._s3.put_object(Bucket=self._bucket, Key=self._key(partition, offset), Body=blob)
            for old in self._offsets(partition)[:-_KEEP]:
                self._s3.delete_object(Bucket=self._bucket, Key=self._key(partition, old))
        except ClientError as exc:
            # A missing snapshot costs a longer replay on the next assignment, never wrong state.
            log.warning("state snapshot upload failed", extra={"partition": partition, "error": str(exc)})
            return
        log.info("state snapshot saved", extra={"partition": partition, "offset": offset, "bytes": len(blob)})

    def wait(self, timeout: float = 60.0) -> None:
        """Block until every queued upload finished (or failed and was logged)."""
        for future in self._pending:
            future.result(timeout)
        self._pending = []

    def load(self, partition: int, at_most: int) -> tuple[int, OnlineFeatures] | None:
        """The newest snapshot at or below ``at_most`` as (offset, state), or None to replay everything."""
        usable = [offset for offset in self._offsets(partition) if offset <= at_most]
        if not usable:
            return None
        offset = usable[-1]
        blob = self._s3.get_object(Bucket=self._bucket, Key=self._key(partition, offset))["Body"].read()
        try:
            return offset, OnlineFeatures.restore(blob)
        except ValueError as exc:  # another feature version: the full replay is the only exact rebuild
            log.warning("state snapshot unusable", extra={"partition": partition, "error": str(exc)})
            return None

    def close(self) -> None:
        self.wait()
        self._uploads.shutdown(wait=True)
