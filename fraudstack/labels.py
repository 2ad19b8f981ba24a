"""The label event: a verdict on one transaction that becomes known after it happened.

Why its own contract: in production a transaction's label is not known when it is scored.
Chargebacks arrive days to weeks later (some never), analysts decide within hours on a share
of the alerts, rules confirm a few at once. Every stage that learns or measures from labels
(the simulator's label stream, the ``labels`` topic, the warehouse's ``fact_labels``, the
training split, the delayed-label features) must agree on what a label is and *when it was
known*, or a model is trained on labels it could not have had. Everything here is that
contract:

* :class:`LabelEvent` - the pydantic model; ``known_at`` is an aware UTC timestamp.
* :func:`validate_label` - raw bytes / str / dict in, either a valid event or a one-line
  reason out, never raising (the same promise as :func:`fraudstack.schema.validate_event`),
  so a consumer dead-letters a bad label and goes on.
* :func:`label_to_json_bytes` - the one canonical compact JSON spelling on the wire.
* :data:`DEFAULT_LABEL_DELAY` - when a label's ``known_at`` is missing (bring-your-own data
  with only an ``is_fraud`` column), it is taken to be known this long after the
  transaction: a typical chargeback delay, so training does not assume instant labels.

The idempotency key of a label is ``(transaction_id, source)``: one chargeback and one
analyst verdict may both exist for a transaction, a replay of either changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, model_validator

from fraudstack.schema import Id, _duplicated_key, _one_line, _shown, json_object, utc_text

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pyarrow as pa

LabelSource = Literal["chargeback", "analyst", "rule"]
LABEL_SOURCES: tuple[str, ...] = get_args(LabelSource)

#: Assumed delay between a transaction and its label when the data carries no ``known_at``.
DEFAULT_LABEL_DELAY = timedelta(days=7)

#: Field names in wire order (also the Parquet column order).
LABEL_EVENT_FIELDS: tuple[str, ...] = ("transaction_id", "is_fraud", "source", "known_at")


class LabelEvent(BaseModel):
    """One verdict on one transaction, stamped with the time it became known."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transaction_id: Id = Field(description="The transaction the verdict is about.")
    is_fraud: bool = Field(description="The verdict: fraud (true) or confirmed genuine (false).")
    source: LabelSource = Field(description="Who gave the verdict: chargeback, analyst or rule.")
    known_at: datetime = Field(description="When the verdict became known, UTC, ISO-8601.")

    @model_validator(mode="after")
    def _utc(self) -> LabelEvent:
        """A naive or offset time would be read differently by each consumer: reject it."""
        if self.known_at.tzinfo is None or self.known_at.utcoffset() != UTC.utcoffset(None):
            raise ValueError("known_at must be a UTC timestamp (ending in Z or +00:00)")
        return self

    @field_serializer("known_at")
    def _ser_time(self, value: datetime) -> str:
        return utc_text(value)


@dataclass(frozen=True, slots=True)
class LabelValidation:
    """Outcome of :func:`validate_label`: exactly one of ``label`` and ``reason`` is set."""

    label: LabelEvent | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.label is not None


def validate_label(raw: bytes | bytearray | str | Mapping[str, Any]) -> LabelValidation:
    """Validate one label record; never raises, whatever the input.

    Text with a key twice is rejected for the reason :func:`fraudstack.schema.validate_event`
    gives (readers disagree on which value wins). A failure of the diagnosis itself still
    yields a rejection naming the exception, so a consumer never dies on a record.
    """
    try:
        if isinstance(raw, bytes | bytearray | str):
            label = LabelEvent.model_validate_json(raw)
            duplicated = _duplicated_key(raw)
            if duplicated is not None:
                return LabelValidation(
                    reason=f"duplicate key {_shown(duplicated)} (each field may appear once)"
                )
            return LabelValidation(label=label)
        return LabelValidation(label=LabelEvent.model_validate(raw))
    except ValidationError as exc:
        first_error: Exception = exc
    except Exception as exc:  # input pydantic could not look at (e.g. lone surrogates)
        first_error = exc
    try:
        reason = _diagnose(raw, first_error)
    except Exception as exc:
        reason = f"invalid label (its diagnosis failed: {type(exc).__name__}: {exc})"
    return LabelValidation(reason=_one_line(reason))


def _diagnose(raw: bytes | bytearray | str | Mapping[str, Any], exc: Exception) -> str:
    """The one-line reason ``raw`` is not a label: text, JSON, shape, then the first field."""
    _, problem = json_object(raw)
    if problem is not None:
        return problem
    if not isinstance(exc, ValidationError):
        return f"unreadable label ({type(exc).__name__}: {exc})"
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in err["loc"]) or "label"
    return f"{where}: {err['msg'].removeprefix('Value error, ')}"


def label_to_json_bytes(label: LabelEvent) -> bytes:
    """Compact UTF-8 JSON, keys in :data:`LABEL_EVENT_FIELDS` order; validates with :func:`validate_label`."""
    return label.model_dump_json().encode()


def arrow_schema() -> pa.Schema:
    """Columnar form of a label (the simulator's labels Parquet); pyarrow imported lazily."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("transaction_id", pa.string(), nullable=False),
            pa.field("is_fraud", pa.bool_(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("known_at", pa.timestamp("us", tz="UTC"), nullable=False),
        ]
    )
