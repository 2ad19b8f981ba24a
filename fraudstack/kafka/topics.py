"""Explicit topic creation.

Why explicit: auto-created topics get the broker's default partition count, and Tansu
cannot add partitions later (no CreatePartitions), so a topic created by accident with one
partition would cap the consumer group for good. Every service calls :func:`ensure_topics`
at start; it is idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from fraudstack.errors import StackError
from fraudstack.features.definitions import LOOKBACK, MICROS_PER_SECOND
from fraudstack.kafka.config import admin_config
from fraudstack.settings import Settings

log = logging.getLogger(__name__)


def pipeline_topics(settings: Settings) -> list[str]:
    """Every topic the pipeline uses: transactions, its dead-letter topic, decisions, labels."""
    return [
        settings.topic_transactions,
        settings.topic_dead_letter,
        settings.topic_decisions,
        settings.topic_labels,
    ]


#: Kept a day longer than the features look back (whole days, in milliseconds).
_LOOKBACK_RETENTION_MS = str((LOOKBACK // MICROS_PER_SECOND + 86_400) * 1000)


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """Topic settings the aggregator's correctness needs, for the topics it reads whole.

    Why: ``fraudstack profiles`` rebuilds its state by replaying ``entity-events`` and reads
    ``labels`` from the start, so both must keep what the features look back over (30 days;
    MSK's default retention is 7), and the shadow gate (:mod:`fraudstack.model.shadow`) reads
    a challenger's scores once their labels are a week old, so they are kept as long;
    ``entity-profiles`` is a table, so compacted: one record per entity, kept for as long as
    the entity exists. Only on AWS: the embedded broker
    (Tansu) has no topic settings and keeps everything. A topic that already exists keeps its
    settings (change them with ``kafka-configs.sh --alter``, docs/deploy-aws.md).
    """
    if settings.target != "aws":
        return {}
    return {
        settings.topic_entity_events: {"retention.ms": _LOOKBACK_RETENTION_MS},
        settings.topic_labels: {"retention.ms": _LOOKBACK_RETENTION_MS},
        # The shadow gate reads a challenger's scores once their labels are mature (7 days).
        settings.topic_shadow_scores: {"retention.ms": _LOOKBACK_RETENTION_MS},
        settings.topic_entity_profiles: {"cleanup.policy": "compact"},
    }


def ensure_topics(
    settings: Settings,
    topics: Iterable[str] | None = None,
    partitions: int | None = None,
    timeout: float = 15.0,
) -> dict[str, int]:
    """Create the topics that do not exist yet; return each topic's partition count.

    Defaults: :func:`pipeline_topics` with ``settings.kafka_partitions``, each with
    ``settings.topic_replication`` replicas (3 on MSK, 1 on a local broker). An existing topic
    with a different partition count is kept (logged): changing it would need
    CreatePartitions, which Tansu lacks, and key-to-partition mapping would change anyway.
    Raises :class:`StackError` when the broker cannot be reached.
    """
    names = list(pipeline_topics(settings) if topics is None else topics)
    wanted = partitions or settings.kafka_partitions
    admin = AdminClient(admin_config(settings))
    existing = _partition_counts(admin, timeout, settings)
    missing = [name for name in names if name not in existing]
    if missing:
        configs = topic_configs(settings)
        futures = admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=wanted,
                    replication_factor=settings.topic_replication,
                    config=configs.get(name, {}),
                )
                for name in missing
            ],
            operation_timeout=timeout,
            request_timeout=timeout,
        )
        for name, future in futures.items():
            try:
                future.result(timeout)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise StackError(f"could not create Kafka topic {name}: {exc.args[0].str()}") from None
            log.info("created topic %s with %d partitions", name, wanted)
        existing = _partition_counts(admin, timeout, settings)
    for name in names:
        if name in existing and existing[name] != wanted:
            log.warning(
                "topic %s has %d partitions, not the configured %d; keeping it", name, existing[name], wanted
            )
    return {name: existing[name] for name in names if name in existing}


def _partition_counts(admin: AdminClient, timeout: float, settings: Settings) -> dict[str, int]:
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise StackError(
            f"cannot reach Kafka at {settings.kafka_bootstrap_servers}: {exc.args[0].str()}; "
            "start it with `fraudstack stack up` or set KAFKA_BOOTSTRAP_SERVERS"
        ) from None
    return {name: len(topic.partitions) for name, topic in metadata.topics.items() if topic.error is None}
