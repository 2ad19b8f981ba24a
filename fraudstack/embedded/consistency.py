"""What ``stack up`` checks once its servers answer: the warehouse, the lake and the broker agree.

Why: the three kinds of state live in different places under the state directory - the
warehouse in PostgreSQL's data directory, the lake and the model registry in the emulator's
S3 (written through to disk, :mod:`fraudstack.localaws.s3_store`), the topics in the broker
(in memory unless ``FRAUDSTACK_KAFKA_STORAGE=s3``) - and one can come back without another:
a state directory from before the emulator kept S3, a folder removed by hand, a broker that
always starts empty. Rather than leave rows that point at nothing, ``stack up`` makes them
agree again and says what it did:

- **Warehouse ahead of the lake** (the warehouse loaded raw objects the lake no longer
  has): the warehouse is derived from the lake, so the lake wins. The rows that came from
  the missing objects go - their facts with their predictions and alerts, the ETL bookmark
  entries, runs left without objects and those runs' curated Parquet - and the next
  ``pipeline run`` works on what the lake holds. Forgotten alerts would be sent again only
  if the very same transactions were ingested again.
- **Broker that starts empty** (memory storage): topics and consumer groups' committed
  offsets are gone, so the streaming scorer's state snapshots, which are keyed by offsets
  of the old topics, are removed too; otherwise a scorer could resume from a snapshot taken
  at an offset the new topic has not reached, with another history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from botocore.exceptions import ClientError

from fraudstack import aws
from fraudstack.settings import Settings
from fraudstack.warehouse import connect, rollups


def check(settings: Settings, started: Iterable[str]) -> list[str]:
    """Bring the state back in line after starting the servers ``started``; one line per action."""
    started = set(started)
    notices: list[str] = []
    if started & {"aws", "warehouse"}:
        notices.extend(align_warehouse_with_lake(settings))
    if "kafka" in started and settings.kafka_storage == "memory":
        notices.append(forget_broker_positions(settings))
    return notices


def align_warehouse_with_lake(settings: Settings) -> list[str]:
    """Remove what the warehouse loaded from raw objects the lake no longer holds."""
    with connect(settings) as wh:
        if not wh.query("SELECT to_regclass('etl_objects') IS NOT NULL")[0][0]:
            return []  # not migrated yet: nothing loaded
        loaded = [str(uri) for (uri,) in wh.query("SELECT object_uri FROM etl_objects")]
        by_bucket: dict[str, set[str]] = defaultdict(set)
        for uri in loaded:
            name, _, key = uri.removeprefix("s3://").partition("/")
            by_bucket[name].add(key)
        lake = {name: _keys(settings, name) for name in by_bucket}
        missing = sorted(
            f"s3://{name}/{key}" for name, keys in by_bucket.items() for key in keys - lake[name]
        )
        if not missing:
            return []
        gone_keys = [uri.removeprefix("s3://").partition("/")[2] for uri in missing]
        facts = "SELECT transaction_id FROM fact_transactions WHERE source_object = ANY(%s)"
        days = wh.query(
            "SELECT DISTINCT date_key FROM fact_transactions WHERE source_object = ANY(%s)", (gone_keys,)
        )
        alerts = wh.execute(f"DELETE FROM fraud_alerts WHERE transaction_id IN ({facts})", (gone_keys,))
        predictions = wh.execute(
            f"DELETE FROM fraud_predictions WHERE transaction_id IN ({facts})", (gone_keys,)
        )
        transactions = wh.execute("DELETE FROM fact_transactions WHERE source_object = ANY(%s)", (gone_keys,))
        wh.execute("DELETE FROM etl_objects WHERE object_uri = ANY(%s)", (missing,))
        rollups.refresh(wh, [int(key) for (key,) in days])  # the dashboard's sums of those days
        runs = [
            str(run_id)
            for (run_id,) in wh.query(
                "DELETE FROM etl_runs r WHERE NOT EXISTS "
                "(SELECT 1 FROM etl_objects o WHERE o.run_id = r.run_id) RETURNING run_id"
            )
        ]
        wh.commit()
    curated = _delete_run_outputs(settings, lake, runs)
    return [
        f"warehouse: the lake no longer holds {len(missing):,} of the {len(loaded):,} raw objects the "
        "warehouse loaded (a state directory from before the emulator kept S3, or files removed by "
        f"hand); removed what came from them: {transactions:,} transactions with {predictions:,} "
        f"predictions and {alerts:,} alerts, {len(runs):,} ETL runs and {curated:,} of their curated "
        "objects. The next 'fraudstack pipeline run' loads what the lake holds."
    ]


def forget_broker_positions(settings: Settings) -> str:
    """Remove the scorer's state snapshots: they belong to topics the broker no longer has."""
    # The registry's fraudstack.model.registry.bucket, not imported: fraudstack.model loads
    # xgboost, a second of start-up that the light `stack` commands must not pay.
    name = settings.artifacts_bucket or settings.bucket
    # Snapshots only (fraudstack.scoring.state names them *.snap): the alert markers beside them
    # (fraudstack.scoring.alert_publisher) say which transactions were alerted, whatever the topics hold.
    snapshots = [
        key
        for key in _keys(settings, name)
        if key.startswith(settings.scorer_state_prefix) and key.endswith(".snap")
    ]
    _delete(settings, name, snapshots)
    removed = (
        f"; removed {len(snapshots):,} streaming-scorer state snapshots of the old topics"
        if snapshots
        else ""
    )
    return (
        "kafka: memory storage, so topics start empty and consumer groups' committed offsets are "
        f"gone (FRAUDSTACK_KAFKA_STORAGE=s3 keeps them){removed if snapshots else ''}"
    )


def _keys(settings: Settings, bucket: str) -> set[str]:
    """Every key in ``bucket``; empty when the bucket does not exist (not deployed, or lost)."""
    s3 = aws.client("s3", settings)
    keys: set[str] = set()
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys.update(obj["Key"] for obj in page.get("Contents", []))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
            raise
    return keys


def _delete_run_outputs(settings: Settings, lake: dict[str, set[str]], runs: list[str]) -> int:
    """Delete the curated (and quarantined) objects the removed ETL runs wrote."""
    if not runs:
        return 0
    marks = tuple(f"/etl_run_id={run}/" for run in runs)
    deleted = 0
    for name, keys in lake.items():
        outputs = [key for key in keys if any(mark in key for mark in marks)]
        _delete(settings, name, outputs)
        deleted += len(outputs)
    return deleted


def _delete(settings: Settings, bucket: str, keys: list[str]) -> None:
    s3 = aws.client("s3", settings)
    for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys
        chunk = [{"Key": key} for key in keys[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
