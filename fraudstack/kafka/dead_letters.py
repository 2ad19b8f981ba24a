"""The dead-letter record format, shared by every consumer that rejects input.

Dead letters keep the original key and value bytes; headers say why and where from, the same
for the bridge and the scorer so one tool reads both: ``dlq.reason``, ``dlq.source.topic``,
``dlq.source.partition``, ``dlq.source.offset``, ``dlq.failed.at`` (UTC ISO-8601).
"""

from __future__ import annotations

from datetime import UTC, datetime

from confluent_kafka import Message

Headers = list[tuple[str, str | bytes | None]]


def dead_letter_headers(message: Message, reason: str) -> Headers:
    """The headers of the dead letter for ``message``, rejected for ``reason``."""
    return [
        ("dlq.reason", reason.encode()),
        ("dlq.source.topic", str(message.topic()).encode()),
        ("dlq.source.partition", str(message.partition()).encode()),
        ("dlq.source.offset", str(message.offset()).encode()),
        ("dlq.failed.at", datetime.now(UTC).isoformat().replace("+00:00", "Z").encode()),
    ]
