"""Firehose delivery from a Kinesis stream source into S3, with buffering, as on AWS.

moto accepts a ``KinesisStreamAsSource`` delivery stream but never reads the stream and
ignores buffering hints. This loop does what Firehose does, through the emulator's public
API only (it is a client of the server it runs in):

- every delivery stream of type KinesisStreamAsSource reads all shards of its source stream
  from the moment the delivery stream was created (``AT_TIMESTAMP`` of its
  CreateTimestamp: Firehose starts at LATEST, and this is LATEST without missing records put
  before the loop noticed the new delivery stream); new shards are picked up;
- records are buffered and flushed when the buffer reaches ``SizeInMBs`` or when
  ``IntervalInSeconds`` has passed since its first record, whichever comes first;
- UpdateDestination of a live delivery stream (buffering hints, prefixes, compression) takes
  effect within :data:`DESCRIBE_EVERY_S`: each delivery stream is described again that often
  and re-read when its ``VersionId`` changed (UpdateDestination bumps it); the records
  already buffered are sealed under the new hints, as Firehose does;
- an object holds each record's data followed by ``\\n`` (unless it ends with one already),
  GZIP-compressed when ``CompressionFormat`` is GZIP (key suffix ``.gz``), under
  ``PREFIX/YYYY/MM/DD/HH/<name>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>`` by the UTC arrival time
  of the batch's first record;
- a flush that keeps failing is retried with backoff (reading pauses meanwhile); after
  :data:`ERROR_OUTPUT_AFTER_S` the batch goes to ``ErrorOutputPrefix`` as Firehose error
  records, and if that fails too it stays buffered and both are retried.

Positions survive a restart (with ``positions``, a folder: the emulator's
``$FRAUDSTACK_STATE_DIR/emulator/firehose``): ``<delivery stream>.json`` holds the source stream,
the delivery stream's original creation time and, per shard, the last sequence number
delivered to S3, written (atomically) only after the object is. When the delivery stream
appears again after a restart (``deploy`` recreates it: moto keeps it in memory; the Kinesis
records are restored from disk, :mod:`.kinesis_store`), each shard is read after its delivered
position, or from the original creation time if none was delivered yet; what was buffered
but not delivered is read again. A kill between an object's write and its position's
delivers that batch again under another key: at-least-once, the ETL dedupes on
``transaction_id``. A delivery stream deleted while the loop runs forgets its positions.

No loss or duplicates from the loop itself: each shard is read forward from its own
position (re-opened after the last record read if an iterator fails), a batch's key is fixed
when it is sealed so a retried put overwrites rather than adds, and reading waits until the
pending batch is delivered.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fraudstack.localaws.s3_store import write_atomically

log = logging.getLogger(__name__)

#: How long a failing destination is retried before the batch goes to the error output.
ERROR_OUTPUT_AFTER_S = 60.0
#: How often a known delivery stream is described again to notice UpdateDestination: a
#: describe per stream per second was a measurable share of an idle emulator's CPU.
DESCRIBE_EVERY_S = 5.0
_MAX_BACKOFF_S = 10.0
_PAUSE_S = 5.0
_DEFAULT_SIZE_MB = 5
_DEFAULT_INTERVAL_S = 300


@dataclass
class _Record:
    shard_id: str
    sequence_number: str
    data: bytes
    arrival: datetime


@dataclass
class _Batch:
    """A sealed set of records with the key and destination it will be written to.

    Both are fixed when the batch is sealed, so a retry overwrites the same object and an
    UpdateDestination meanwhile cannot give it a ``.gz`` key over an uncompressed body.
    """

    records: list[_Record]
    key: str
    destination: _Destination
    attempts: int = 0
    first_failure: float | None = None
    next_attempt: float = 0.0


@dataclass
class _Destination:
    bucket: str
    prefix: str
    error_prefix: str
    size_bytes: int
    interval_s: float
    gzip: bool

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> _Destination:
        """Read the S3 destination (extended or plain) of a DescribeDeliveryStream answer."""
        destination = description["Destinations"][0]
        s3 = destination.get("ExtendedS3DestinationDescription") or destination["S3DestinationDescription"]
        hints = s3.get("BufferingHints") or {}
        compression = s3.get("CompressionFormat", "UNCOMPRESSED")
        if compression not in {"UNCOMPRESSED", "GZIP"}:
            log.warning("firehose: CompressionFormat %s is not emulated; writing uncompressed", compression)
        return cls(
            bucket=s3["BucketARN"].split(":")[-1],
            prefix=s3.get("Prefix", ""),
            error_prefix=s3.get("ErrorOutputPrefix", ""),
            size_bytes=int(hints.get("SizeInMBs", _DEFAULT_SIZE_MB)) * 1024 * 1024,
            interval_s=float(hints.get("IntervalInSeconds", _DEFAULT_INTERVAL_S)),
            gzip=compression == "GZIP",
        )


@dataclass
class _Pipe:
    """One delivery stream: its source positions, buffer and pending batch."""

    name: str
    version_id: str
    stream_arn: str
    stream_name: str
    created: datetime
    destination: _Destination
    described: float
    iterators: dict[str, str | None] = field(default_factory=dict)
    last_read: dict[str, str] = field(default_factory=dict)
    delivered: dict[str, str] = field(default_factory=dict)
    buffer: list[_Record] = field(default_factory=list)
    buffered_bytes: int = 0
    first_buffered: float = 0.0
    pending: _Batch | None = None
    shards_checked: float = 0.0
    paused_until: float = 0.0


def object_key(prefix: str, stream_name: str, version_id: str, arrival: datetime, gzip_suffix: bool) -> str:
    """Firehose's default S3 key: ``PREFIX/YYYY/MM/DD/HH/name-version-YYYY-MM-DD-HH-MM-SS-uuid``."""
    stamp = arrival.astimezone(UTC)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    name = f"{stream_name}-{version_id}-{stamp:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
    return f"{prefix}{stamp:%Y/%m/%d/%H}/{name}{'.gz' if gzip_suffix else ''}"


def encode_records(records: list[_Record], compress: bool) -> bytes:
    """Newline-delimited record data, optionally GZIP-compressed."""
    body = b"".join(r.data if r.data.endswith(b"\n") else r.data + b"\n" for r in records)
    return gzip.compress(body) if compress else body


class FirehoseDelivery:
    """The delivery loop; ``run`` until ``stop`` is set (a daemon thread of the server)."""

    def __init__(
        self,
        firehose: Any,
        kinesis: Any,
        s3: Any,
        poll_s: float = 0.2,
        idle_poll_s: float = 1.0,
        discover_s: float = 1.0,
        describe_s: float = DESCRIBE_EVERY_S,
        positions: Path | None = None,
    ) -> None:
        self._firehose = firehose
        self._kinesis = kinesis
        self._s3 = s3
        self._poll_s = poll_s
        self._idle_poll_s = idle_poll_s
        self._discover_s = discover_s
        self._describe_s = describe_s
        self._positions = positions
        self._pipes: dict[str, _Pipe] = {}
        self._discovered = 0.0
        self._sealing_all = False  # set while draining: every buffer is due

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop``; a failing round is logged and retried, never fatal.

        Rounds come every ``poll_s`` while records flow or wait in a buffer, and back off to
        ``idle_poll_s`` while every source is quiet: each round is a GetRecords per shard
        through the server's own HTTP API, and five idle rounds a second kept a sixth of a
        core busy (taken from the broker and the services on a 2-core laptop).
        """
        wait = self._poll_s
        while not stop.is_set():
            try:
                busy = self.step(time.monotonic())
            except Exception:
                log.exception("firehose delivery round failed; retrying")
                busy = True
            wait = self._poll_s if busy else min(2 * wait, self._idle_poll_s)
            stop.wait(wait)

    def drain(self, timeout_s: float) -> bool:
        """Deliver everything the sources hold now, buffers included, whatever their hints.

        Why: ``stack down`` stops the emulator, whose Kinesis streams and Firehose buffers live
        in memory; records the bridge already handed over (and committed in Kafka) would be
        lost with them. Called on a graceful stop, after :meth:`run` returned and while the
        server still answers. True when nothing is left; False when ``timeout_s`` ran out.
        """
        deadline = time.monotonic() + timeout_s
        self._sealing_all = True
        self._discovered = -math.inf  # a stream created since the last round is drained too
        for pipe in self._pipes.values():
            pipe.paused_until = 0.0  # one last try for a pipe that failed a moment ago
        try:
            while time.monotonic() < deadline:
                if not self.step(time.monotonic()):
                    return True
                time.sleep(0.05)
        finally:
            self._sealing_all = False
        log.warning("firehose: records were still undelivered when the drain timed out")
        return False

    def step(self, now: float) -> bool:
        """One round: discover delivery streams, read their shards, flush what is due.

        Returns whether any stream read records or still holds some (buffered or unsent).
        """
        if now - self._discovered >= self._discover_s:
            self._discover(now)
            self._discovered = now
        busy = False
        for pipe in list(self._pipes.values()):
            if now < pipe.paused_until:
                continue
            try:
                busy = self._advance(pipe, now) or busy
            except Exception as exc:  # e.g. the source stream was deleted: pause this pipe only
                log.warning(
                    "firehose %s: reading the source failed (%s); retrying in %ss", pipe.name, exc, _PAUSE_S
                )
                pipe.paused_until = now + _PAUSE_S
        return busy

    def _advance(self, pipe: _Pipe, now: float) -> bool:
        read = 0
        if pipe.pending is None:
            if now - pipe.shards_checked >= self._discover_s:
                self._refresh_shards(pipe)
                pipe.shards_checked = now
            read = self._read(pipe, now)
            self._seal_if_due(pipe, now)
        if pipe.pending is not None and now >= pipe.pending.next_attempt:
            self._flush(pipe, now)
        return bool(read or pipe.buffer or pipe.pending)

    # --- discovery ----------------------------------------------------------------------------
    def _discover(self, now: float) -> None:
        names: list[str] = []
        kwargs: dict[str, Any] = {"DeliveryStreamType": "KinesisStreamAsSource", "Limit": 100}
        while True:
            page = self._firehose.list_delivery_streams(**kwargs)
            names += page["DeliveryStreamNames"]
            if not page.get("HasMoreDeliveryStreams") or not page["DeliveryStreamNames"]:
                break
            kwargs["ExclusiveStartDeliveryStreamName"] = page["DeliveryStreamNames"][-1]
        arns = set()
        known = {pipe.name: arn for arn, pipe in self._pipes.items()}
        for name in names:
            if name in known and now - self._pipes[known[name]].described < self._describe_s:
                arns.add(known[name])  # listing it again says it still exists
                continue
            description = self._firehose.describe_delivery_stream(DeliveryStreamName=name)[
                "DeliveryStreamDescription"
            ]
            arn = description["DeliveryStreamARN"]
            arns.add(arn)
            version_id = str(description.get("VersionId", "1"))
            pipe = self._pipes.get(arn)
            if pipe is None:
                stream_arn = description["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"]
                pipe = _Pipe(
                    name=name,
                    version_id=version_id,
                    stream_arn=stream_arn,
                    stream_name=stream_arn.split(":stream/", 1)[1],
                    created=description["CreateTimestamp"],
                    destination=_Destination.from_description(description),
                    described=now,
                )
                self._resume(pipe)
                self._pipes[arn] = pipe
                continue
            pipe.described = now
            if version_id != pipe.version_id:  # UpdateDestination: the next seal uses the new hints
                pipe.version_id = version_id
                pipe.destination = _Destination.from_description(description)
                log.info("firehose %s: destination version %s: %s", name, version_id, pipe.destination)
        for arn in set(self._pipes) - arns:  # deleted: AWS drops its buffer too
            gone = self._pipes.pop(arn).name
            if self._positions is not None:
                self._position_file(gone).unlink(missing_ok=True)
            log.info("firehose: %s deleted; stopped delivering", gone)

    # --- positions ----------------------------------------------------------------------------
    def _position_file(self, name: str) -> Path:
        assert self._positions is not None
        return self._positions / f"{name}.json"

    def _resume(self, pipe: _Pipe) -> None:
        """Continue where a delivery stream of this name and source left off before a restart."""
        if self._positions is None:
            return
        path = self._position_file(pipe.name)
        stored = json.loads(path.read_bytes()) if path.exists() else None
        if stored is not None and stored["stream_arn"] == pipe.stream_arn:
            pipe.created = datetime.fromisoformat(stored["created"])
            pipe.delivered = dict(stored["delivered"])
            pipe.last_read = dict(pipe.delivered)
            log.info("firehose: delivering %s, resumed after %s", pipe.name, pipe.delivered or "nothing")
            return
        self._save_positions(pipe)
        log.info("firehose: delivering %s", pipe.name)

    def _save_positions(self, pipe: _Pipe) -> None:
        if self._positions is None:
            return
        state = {
            "stream_arn": pipe.stream_arn,
            "created": pipe.created.isoformat(),
            "delivered": pipe.delivered,
        }
        write_atomically(self._position_file(pipe.name), json.dumps(state).encode())

    def _delivered(self, pipe: _Pipe, batch: _Batch) -> None:
        """The batch is in S3: move its shards' delivered positions past it, then forget it."""
        for record in batch.records:  # in read order: the last of each shard wins
            pipe.delivered[record.shard_id] = record.sequence_number
        self._save_positions(pipe)
        pipe.pending = None

    def _refresh_shards(self, pipe: _Pipe) -> None:
        kwargs: dict[str, Any] = {"StreamName": pipe.stream_name}
        while True:
            page = self._kinesis.list_shards(**kwargs)
            for shard in page["Shards"]:
                if shard["ShardId"] not in pipe.iterators:
                    pipe.iterators[shard["ShardId"]] = self._open_iterator(pipe, shard["ShardId"])
            if not page.get("NextToken"):
                return
            kwargs = {"NextToken": page["NextToken"]}

    def _open_iterator(self, pipe: _Pipe, shard_id: str) -> str:
        """An iterator after the last record read from the shard, else from creation time.

        By stream name: moto 5.2.5 encodes the name in the iterator, which is None (and the
        iterator useless) when it was asked by StreamARN.
        """
        kwargs: dict[str, Any] = {"StreamName": pipe.stream_name, "ShardId": shard_id}
        if shard_id in pipe.last_read:
            kwargs.update(
                ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=pipe.last_read[shard_id]
            )
        else:
            kwargs.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=pipe.created)
        return str(self._kinesis.get_shard_iterator(**kwargs)["ShardIterator"])

    # --- reading and buffering ------------------------------------------------------------------
    def _read(self, pipe: _Pipe, now: float) -> int:
        """Read every open shard once; returns the number of records read."""
        read = 0
        for shard_id, iterator in list(pipe.iterators.items()):
            if iterator is None:  # a closed shard read to its end
                continue
            try:
                answer = self._kinesis.get_records(ShardIterator=iterator, Limit=10000)
            except self._kinesis.exceptions.ExpiredIteratorException:
                pipe.iterators[shard_id] = self._open_iterator(pipe, shard_id)
                continue
            pipe.iterators[shard_id] = answer.get("NextShardIterator")
            for record in answer["Records"]:
                if not pipe.buffer:
                    pipe.first_buffered = now
                data = bytes(record["Data"])
                pipe.buffer.append(
                    _Record(shard_id, record["SequenceNumber"], data, record["ApproximateArrivalTimestamp"])
                )
                pipe.buffered_bytes += len(data)
                pipe.last_read[shard_id] = record["SequenceNumber"]
            read += len(answer["Records"])
        return read

    def _seal_if_due(self, pipe: _Pipe, now: float) -> None:
        if not pipe.buffer:
            return
        full = pipe.buffered_bytes >= pipe.destination.size_bytes
        if not (full or self._sealing_all) and now - pipe.first_buffered < pipe.destination.interval_s:
            return
        records = pipe.buffer
        first_arrival = min(r.arrival for r in records)
        key = object_key(
            pipe.destination.prefix, pipe.name, pipe.version_id, first_arrival, pipe.destination.gzip
        )
        pipe.pending = _Batch(records=records, key=key, destination=pipe.destination)
        pipe.buffer, pipe.buffered_bytes = [], 0

    # --- delivery -------------------------------------------------------------------------------
    def _flush(self, pipe: _Pipe, now: float) -> None:
        batch = pipe.pending
        assert batch is not None
        destination = batch.destination
        try:
            body = encode_records(batch.records, destination.gzip)
            self._s3.put_object(Bucket=destination.bucket, Key=batch.key, Body=body)
            log.info(
                "firehose %s: %d records -> s3://%s/%s",
                pipe.name,
                len(batch.records),
                destination.bucket,
                batch.key,
            )
            self._delivered(pipe, batch)
            return
        except Exception as exc:
            batch.attempts += 1
            batch.first_failure = batch.first_failure or now
            batch.next_attempt = now + min(2.0**batch.attempts, _MAX_BACKOFF_S)
            log.warning("firehose %s: delivery attempt %d failed: %s", pipe.name, batch.attempts, exc)
            failure = exc
        if destination.error_prefix and now - batch.first_failure >= ERROR_OUTPUT_AFTER_S:
            self._write_errors(pipe, batch, failure, now)

    def _write_errors(self, pipe: _Pipe, batch: _Batch, failure: Exception, now: float) -> None:
        """Write the batch as Firehose error records under ErrorOutputPrefix."""
        ending = int(datetime.now(UTC).timestamp() * 1000)
        lines = [
            json.dumps(
                {
                    "attemptsMade": batch.attempts,
                    "arrivalTimestamp": int(r.arrival.timestamp() * 1000),
                    "errorCode": "S3.DeliveryFailed",
                    "errorMessage": str(failure),
                    "attemptEndingTimestamp": ending,
                    "rawData": base64.b64encode(r.data).decode("ascii"),
                    "kinesisStreamArn": pipe.stream_arn,
                    "shardId": r.shard_id,
                    "sequenceNumber": r.sequence_number,
                }
            ).encode()
            for r in batch.records
        ]
        destination = batch.destination
        key = object_key(
            destination.error_prefix, pipe.name, pipe.version_id, batch.records[0].arrival, gzip_suffix=False
        )
        try:
            self._s3.put_object(Bucket=destination.bucket, Key=key, Body=b"\n".join(lines) + b"\n")
        except Exception as exc:  # keep the batch; both are retried on the next attempt
            log.warning("firehose %s: error output failed too: %s", pipe.name, exc)
            return
        log.error(
            "firehose %s: %d records -> error output s3://%s/%s",
            pipe.name,
            len(lines),
            destination.bucket,
            key,
        )
        self._delivered(pipe, batch)
