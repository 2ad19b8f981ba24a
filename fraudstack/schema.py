"""The one versioned transaction event schema every stage shares.

Why one module: the simulator writes events, the producer and bridge ship them, the Glue
ETL cleans them and the scorer reads them. If each kept its own idea of a "transaction",
they would drift silently. Everything here is the contract:

* :class:`TransactionEvent` - the pydantic model of schema version :data:`SCHEMA_VERSION`.
* :func:`validate_event` - raw bytes / str / dict in, either a valid event or a one-line
  reason out. The bridge and the ETL send invalid records and unknown schema versions to the
  dead-letter prefix with that reason instead of failing the batch.
* :func:`event_to_json_bytes` - the compact JSON wire format (producer, bridge, tests).
* :func:`arrow_schema` - the columnar form (Parquet from the simulator, curated data).
* ``fraudstack/data/schema/transaction_event.v1.json`` - the JSON Schema rendering for non-Python
  consumers, regenerated with ``python -m fraudstack.schema`` and kept in lockstep by a test.

Labels: ``is_fraud`` and ``fraud_type`` travel with the event in the simulated stream only
because a simulator knows the truth up front. In production they arrive later (chargebacks,
analyst review), so the warehouse stores them as labels and **the scorer and the model must
never use them as features** - see :data:`LABEL_FIELDS`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    model_validator,
)

from fraudstack.packagedata import data_file

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pyarrow as pa

#: The version this code writes and accepts. A breaking change adds a new version and a new
#: ``fraudstack/data/schema/transaction_event.vN.json``; readers reject versions they do not know.
SCHEMA_VERSION = 1
SUPPORTED_VERSIONS: frozenset[int] = frozenset({SCHEMA_VERSION})

FraudType = Literal[
    "account_takeover",
    "card_testing",
    "velocity_attack",
    "impossible_travel",
    "synthetic_identity",
    "merchant_compromise",
]
FRAUD_TYPES: tuple[str, ...] = get_args(FraudType)

Channel = Literal["pos", "ecom", "atm"]
EntryMode = Literal["chip", "contactless", "magstripe", "manual", "card_not_present"]
CardType = Literal["credit", "debit", "prepaid"]
DeviceOS = Literal["ios", "android", "windows", "macos", "linux"]

#: Ground-truth labels. Never features: they are not known when a transaction is scored.
LABEL_FIELDS: tuple[str, ...] = ("is_fraud", "fraud_type")

#: The JSON Schema rendering, shipped as package data (``python -m fraudstack.schema`` re-renders it).
JSON_SCHEMA_PATH = Path(str(data_file("schema", f"transaction_event.v{SCHEMA_VERSION}.json")))


def _check_ip(value: str) -> str:
    """Accept IPv4/IPv6 text; kept as ``str`` so rows stay plain JSON/Arrow values."""
    ipaddress.ip_address(value)
    return value


IPAddress = Annotated[str, AfterValidator(_check_ip)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class TransactionEvent(BaseModel):
    """One card transaction, as it leaves the point of sale (schema version 1).

    Location fields: ``lat``/``lon``/``city``/``country`` are where the transaction happened -
    the terminal for card-present channels (``pos``, ``atm``), the IP geolocation for
    ``ecom``. ``device_*`` and ``ip_*`` describe the customer's device and are only present
    for ``ecom`` (a shop terminal is not the customer's device).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = Field(description="Version of this schema; readers reject others.")
    transaction_id: Id = Field(description="Unique, stable id; the idempotency key everywhere.")
    event_time: datetime = Field(description="When the transaction happened, UTC, ISO-8601.")

    customer_id: Id
    customer_account_created: date = Field(description="Date the customer's account was opened.")
    card_id: Id
    card_token: str = Field(
        pattern=r"^tok_[0-9a-f]{24}$",
        description="Irreversible token of the card number; the number never appears in clear.",
    )
    card_type: CardType
    issuing_bank: str = Field(min_length=1, max_length=64)

    merchant_id: Id
    merchant_name: str = Field(min_length=1, max_length=128)
    merchant_category_code: str = Field(pattern=r"^\d{4}$", description="ISO 18245 MCC.")
    merchant_category: str = Field(min_length=1, max_length=64, description="Name of the MCC group.")
    merchant_lat: Latitude
    merchant_lon: Longitude

    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2, description="In `currency`.")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    channel: Channel
    entry_mode: EntryMode

    device_id: Id | None = None
    device_os: DeviceOS | None = None
    ip_address: IPAddress | None = None
    ip_is_vpn: bool | None = Field(default=None, description="IP belongs to a VPN or anonymising proxy.")

    lat: Latitude
    lon: Longitude
    city: str = Field(min_length=1, max_length=64)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2.")

    is_fraud: bool = Field(description="LABEL - never a feature.")
    fraud_type: FraudType | None = Field(default=None, description="LABEL - never a feature.")

    @model_validator(mode="after")
    def _consistent(self) -> TransactionEvent:
        """Reject combinations no producer should emit (they point at a bug upstream)."""
        if self.event_time.tzinfo is None or self.event_time.utcoffset() != UTC.utcoffset(None):
            raise ValueError("event_time must be a UTC timestamp (ending in Z or +00:00)")
        if self.is_fraud != (self.fraud_type is not None):
            raise ValueError("fraud_type must be set exactly when is_fraud is true")
        if self.channel == "ecom" and (self.device_id is None or self.ip_address is None):
            raise ValueError("ecom transactions need device_id and ip_address")
        return self

    @field_serializer("event_time")
    def _ser_time(self, value: datetime) -> str:
        return utc_text(value)

    @field_serializer("amount")
    def _ser_amount(self, value: Decimal) -> float:
        return float(value)


#: Field names in wire order (also the Parquet column order).
FIELDS: tuple[str, ...] = tuple(TransactionEvent.model_fields)


@dataclass(frozen=True, slots=True)
class Validation:
    """Outcome of :func:`validate_event`: exactly one of ``event`` and ``reason`` is set."""

    event: TransactionEvent | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.event is not None


def validate_event(raw: bytes | bytearray | str | Mapping[str, Any]) -> Validation:
    """Validate one record; never raises, whatever the input.

    The happy path is a single pydantic call (Rust-side JSON parsing). Only failures pay for
    a second look, so the reason names the real problem: not UTF-8, not JSON, not an object,
    an unknown ``schema_version`` (checked before the fields, because another version has
    other fields), or the first invalid field.

    Text that pydantic accepts is also checked for duplicate keys: JSON parsers disagree on
    which of two values wins (pydantic the last, others the first), so such a record could
    be validated with one value and loaded with another. It is rejected instead.

    If the diagnosis itself fails on some input nobody foresaw, the record is still rejected,
    with the exception named: a stage dead-letters it and goes on, never dies on it.
    """
    try:
        if isinstance(raw, bytes | bytearray | str):
            event = TransactionEvent.model_validate_json(raw)
            duplicated = _duplicated_key(raw)
            if duplicated is not None:
                return Validation(reason=f"duplicate key {_shown(duplicated)} (each field may appear once)")
            return Validation(event=event)
        return Validation(event=TransactionEvent.model_validate(raw))
    except ValidationError as exc:
        first_error: ValidationError | Exception = exc
    except Exception as exc:  # input pydantic could not look at (e.g. lone surrogates)
        first_error = exc
    try:
        reason = _diagnose(raw, first_error)
    except Exception as exc:
        reason = f"invalid record (its diagnosis failed: {type(exc).__name__}: {exc})"
    return Validation(reason=_one_line(reason))


#: The longest reason kept; the record itself travels beside it (dead-letter value, quarantine).
MAX_REASON_LENGTH = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: str) -> str:
    """One printable line of bounded length: reasons go into headers, logs and e-mails."""
    flat = _CONTROL.sub(" ", text)
    return flat if len(flat) <= MAX_REASON_LENGTH else flat[: MAX_REASON_LENGTH - 3] + "..."


def _shown(value: Any) -> str:
    """A short repr of an input value for a reason (a hostile value may be a megabyte long)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _duplicated_key(raw: bytes | bytearray | str) -> str | None:
    """The first key that appears twice in one JSON object of ``raw``, if any."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> None:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and not found:
                found.append(key)
            seen.add(key)

    json.loads(raw, object_pairs_hook=pairs)
    return found[0] if found else None


def json_object(raw: bytes | bytearray | str | Mapping[str, Any]) -> tuple[Any, str | None]:
    """(the JSON object ``raw`` holds, None), or (None, why it holds none): text, JSON, shape.

    The first steps of every outside record's diagnosis (events here, label events in
    :mod:`fraudstack.labels`), so both say the same about the same bytes.
    """
    obj: Any = raw
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode()
        except UnicodeDecodeError as bad_text:
            return None, f"not valid UTF-8 text: {bad_text.reason} at byte {bad_text.start}"
    if isinstance(raw, str):
        try:
            obj = json.loads(raw)
        except ValueError as bad_json:
            return None, f"not valid JSON: {str(bad_json).splitlines()[0]}"
        except RecursionError:
            return None, "not valid JSON: nested too deeply"
    if not isinstance(obj, dict):
        return None, f"not a JSON object (got {type(obj).__name__})"
    return obj, None


def _diagnose(raw: bytes | bytearray | str | Mapping[str, Any], exc: Exception) -> str:
    obj, problem = json_object(raw)
    if problem is not None:
        return problem
    if "schema_version" not in obj:
        return "schema_version: missing"
    version = obj["schema_version"]
    if not _supported(version):
        return (
            f"schema_version: unsupported version {_shown(version)} (supported: {sorted(SUPPORTED_VERSIONS)})"
        )
    if not isinstance(exc, ValidationError):
        return f"unreadable record ({type(exc).__name__}: {exc})"
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in err["loc"]) or "event"
    return f"{where}: {err['msg'].removeprefix('Value error, ')}"


def _supported(version: Any) -> bool:
    """Whether ``version`` names a supported schema version (as pydantic reads it: 1 or 1.0)."""
    if isinstance(version, bool) or not isinstance(version, int | float):
        return False
    return version in SUPPORTED_VERSIONS


def utc_text(value: datetime) -> str:
    """ISO-8601 in UTC with microseconds and a ``Z`` suffix: one spelling on the wire."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    # numpy scalars (from simulator batches) expose .item(); anything else is a bug.
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"cannot serialise {type(value).__name__} in a transaction event")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default)


def event_to_json_bytes(event: TransactionEvent | Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON for the wire (Kafka value, Kinesis record, JSON lines).

    Accepts a :class:`TransactionEvent` or a plain mapping with Python values (``datetime``,
    ``date``, ``Decimal``/``float`` amounts) such as the simulator's stream yields, so the hot
    path skips building a model per event. The output validates with :func:`validate_event`.
    """
    if isinstance(event, TransactionEvent):
        return event.model_dump_json().encode()
    return _ENCODER.encode(event).encode()


def json_schema() -> dict[str, Any]:
    """The JSON Schema rendering of :class:`TransactionEvent` (what the data/ file holds)."""
    schema = TransactionEvent.model_json_schema(mode="validation")
    # Decimal renders as number-or-string; the wire format is a JSON number, say so.
    schema["properties"]["amount"] = {
        "description": "In `currency`; a JSON number with at most 2 decimal places.",
        "exclusiveMinimum": 0,
        "maximum": 9_999_999_999.99,
        "title": "Amount",
        "type": "number",
    }
    schema["$id"] = f"https://fraudstack.dev/schema/transaction_event.v{SCHEMA_VERSION}.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def render_json_schema() -> str:
    """The exact text of ``fraudstack/data/schema/transaction_event.v1.json``."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def arrow_schema() -> pa.Schema:
    """Columnar form of the event, used for Parquet and Arrow batches.

    Timestamps are microseconds (Spark cannot read nanosecond Parquet); the amount is an
    exact ``decimal128(12, 2)``. Imported lazily so JSON-only users (Lambda) skip pyarrow.
    """
    import pyarrow as pa

    text = pa.string()
    return pa.schema(
        [
            pa.field("schema_version", pa.int16(), nullable=False),
            pa.field("transaction_id", text, nullable=False),
            pa.field("event_time", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("customer_id", text, nullable=False),
            pa.field("customer_account_created", pa.date32(), nullable=False),
            pa.field("card_id", text, nullable=False),
            pa.field("card_token", text, nullable=False),
            pa.field("card_type", text, nullable=False),
            pa.field("issuing_bank", text, nullable=False),
            pa.field("merchant_id", text, nullable=False),
            pa.field("merchant_name", text, nullable=False),
            pa.field("merchant_category_code", text, nullable=False),
            pa.field("merchant_category", text, nullable=False),
            pa.field("merchant_lat", pa.float64(), nullable=False),
            pa.field("merchant_lon", pa.float64(), nullable=False),
            pa.field("amount", pa.decimal128(12, 2), nullable=False),
            pa.field("currency", text, nullable=False),
            pa.field("channel", text, nullable=False),
            pa.field("entry_mode", text, nullable=False),
            pa.field("device_id", text),
            pa.field("device_os", text),
            pa.field("ip_address", text),
            pa.field("ip_is_vpn", pa.bool_()),
            pa.field("lat", pa.float64(), nullable=False),
            pa.field("lon", pa.float64(), nullable=False),
            pa.field("city", text, nullable=False),
            pa.field("country", text, nullable=False),
            pa.field("is_fraud", pa.bool_(), nullable=False),
            pa.field("fraud_type", text),
        ]
    )


if __name__ == "__main__":
    JSON_SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    JSON_SCHEMA_PATH.write_text(render_json_schema())
    print(f"wrote {JSON_SCHEMA_PATH}")
