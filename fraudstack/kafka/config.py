"""librdkafka configuration built from settings.

Why one module: the delivery guarantees (idempotent producer with ``acks=all``; consumers
that commit only what was handled) are decisions, not per-service tuning. Services take a
config from here and override throughput knobs only.
"""

from __future__ import annotations

from typing import Any

from fraudstack.settings import Settings


def _common(settings: Settings, client_id: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "client.id": client_id,
        # Tansu reports a wrong high watermark and has no KIP-848; nothing here relies on either.
        "broker.address.family": "v4" if settings.is_local else "any",
        "security.protocol": settings.kafka_protocol,
    }
    if settings.kafka_protocol == "SSL":
        # MSK's certificates chain to a public CA: find the system store wherever the image keeps it.
        config["ssl.ca.location"] = "probe"
    return config


def producer_config(
    settings: Settings, client_id: str = "fraudstack-producer", **overrides: Any
) -> dict[str, Any]:
    """An ``acks=all`` producer whose own retries never reorder a card's events.

    Idempotent (no duplicates from retries) unless :func:`idempotent_producer` says the
    broker cannot be trusted with it; then at most one request is in flight per broker so a
    retry cannot overtake a later batch, and a retry may duplicate (the lake tolerates that,
    the ETL dedupes on ``transaction_id``). ``linger.ms`` trades a few milliseconds for
    batches that keep the broker fast; ``message.timeout.ms`` lets a record wait minutes for
    a restarting broker before it is reported as failed.
    """
    idempotent = idempotent_producer(settings)
    config = {
        **_common(settings, client_id),
        "enable.idempotence": idempotent,
        "acks": "all",
        "linger.ms": 20,
        "batch.num.messages": 10000,
        "queue.buffering.max.messages": 200000,
        "message.timeout.ms": 300000,
    }
    if not idempotent:
        config["max.in.flight.requests.per.connection"] = 1
    config.update(overrides)
    return config


def idempotent_producer(settings: Settings) -> bool:
    """Whether producers run idempotent: ``settings.kafka_idempotent_producer``, else automatic.

    Automatic is on everywhere except the embedded Tansu broker (0.6.0) with ``s3`` storage.
    There, a broker ``kill -9`` while a batch is being written keeps the batch's producer
    sequence but not its records; the producer's retry is then answered "duplicate
    sequence" and counted as delivered, so the batch is lost (reproduced by
    ``tests/ingestion/test_faults.py``: ~160 of 8,000 acknowledged records missing). Without
    idempotence the retry is stored again and nothing is lost.
    """
    if settings.kafka_idempotent_producer is not None:
        return settings.kafka_idempotent_producer
    return not (settings.target == "embedded" and settings.kafka_storage == "s3")


def consumer_config(
    settings: Settings, group_id: str, client_id: str = "fraudstack-consumer", **overrides: Any
) -> dict[str, Any]:
    """A group consumer that never commits on its own.

    Offsets are neither auto-committed nor auto-stored: a service commits an offset only
    after the record's effect is durable downstream (at-least-once). A new group starts from
    the earliest record so nothing produced before the first start is skipped.
    """
    config = {
        **_common(settings, client_id),
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": settings.kafka_session_timeout_ms,
        "heartbeat.interval.ms": max(settings.kafka_session_timeout_ms // 4, 500),
        "partition.assignment.strategy": "range",
    }
    config.update(overrides)
    return config


def admin_config(settings: Settings, client_id: str = "fraudstack-admin") -> dict[str, Any]:
    """Configuration for an :class:`~confluent_kafka.admin.AdminClient`."""
    return _common(settings, client_id)
