"""Kafka plumbing shared by every service that talks to the broker.

- :mod:`fraudstack.kafka.config` - producer / consumer / admin configuration from
  :class:`~fraudstack.settings.Settings` (one place for the delivery guarantees);
- :mod:`fraudstack.kafka.topics` - explicit topic creation with the configured partitions;
- :mod:`fraudstack.kafka.dead_letters` - the dead-letter record format;
- :mod:`fraudstack.kafka.stall` - the watchdog for partitions no longer fetched.

The producer and the Kafka -> Kinesis bridge are :mod:`fraudstack.ingestion`.
"""

from fraudstack.kafka.config import admin_config, consumer_config, idempotent_producer, producer_config
from fraudstack.kafka.topics import ensure_topics, pipeline_topics

__all__ = [
    "admin_config",
    "consumer_config",
    "ensure_topics",
    "idempotent_producer",
    "pipeline_topics",
    "producer_config",
]
