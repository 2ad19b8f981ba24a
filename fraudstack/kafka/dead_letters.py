"""The dead-letter record format, shared by every consumer that rejects input.

Dead letters keep the original key and value bytes; headers say why and where from, the same
for the bridge and the scorer so one tool reads both: ``dlq.reason``, ``dlq.source.topic``,
``dlq.source.partition``, ``dlq.source.offset``, ``dlq.failed.at`` (UTC ISO-8601).

Two kinds of reason: the record is invalid (the validator says why), or processing it raised
an exception nobody expected - a poison pill (:func:`poison_reason`). A stage dead-letters the
latter too, rather than dying on it: on restart it would read the same record and die again,
and nothing behind it would get through. Failures of the broker or AWS are never dead-lettered
(the stage stops instead, offsets uncommitted), since the record is not what is wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime

from confluent_kafka import Message

Headers = list[tuple[str, str | bytes | None]]

#: The prefix of a poison pill's reason, so a reader of the dead-letter topic tells the two kinds apart.
POISON_PREFIX = "processing failed: "
#: Exception text beyond this is cut: a header, not a traceback (the stage's log has that).
_MAX_ERROR_TEXT = 500


def poison_reason(exc: BaseException) -> str:
    """The reason of a record whose processing raised ``exc``: the exception's type and text."""
    text = str(exc)
    if len(text) > _MAX_ERROR_TEXT:
        text = text[:_MAX_ERROR_TEXT] + "..."
    return f"{POISON_PREFIX}{type(exc).__name__}: {text}" if text else f"{POISON_PREFIX}{type(exc).__name__}"


def dead_letter_headers(message: Message, reason: str) -> Headers:
    """The headers of the dead letter for ``message``, rejected for ``reason``."""
    return [
        ("dlq.reason", reason.encode()),
        ("dlq.source.topic", str(message.topic()).encode()),
        ("dlq.source.partition", str(message.partition()).encode()),
        ("dlq.source.offset", str(message.offset()).encode()),
        ("dlq.failed.at", datetime.now(UTC).isoformat().replace("+00:00", "Z").encode()),
    ]
