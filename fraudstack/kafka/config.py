"""librdkafka configuration built from settings.

Why one module: the delivery guarantees (idempotent producer with ``acks=all``; consumers
that commit only what was handled) are decisions, not per-service tuning. Services take a
config from here and override throughput knobs only.
"""

from __future__ import annotations

from typing import Any

from fraudstack.settings import Settings


def _common(settings: Settings, client_id: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "client.id": client_id,
        # Tansu reports a wrong high watermark and has no KIP-848; nothing here relies on either.
        "broker.address.family": "v4" if settings.is_local else "any",
    }


def producer_config(
    settings: Settings, client_id: str = "fraudstack-producer", **overrides: Any
) -> dict[str, Any]:
    """An idempotent, ``acks=all`` producer: no duplicates or reordering from its own retries.

    ``linger.ms`` trades a few milliseconds of latency for batches that keep the broker fast;
    ``message.timeout.ms`` bounds how long a record may wait for a broker that is down before
    it is reported as failed (the broker-restart test relies on it being minutes, not seconds).
    """
    config = {
        **_common(settings, client_id),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "batch.num.messages": 10000,
        "queue.buffering.max.messages": 200000,
        "message.timeout.ms": 300000,
    }
    config.update(overrides)
    return config


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
