"""Hostile records: what a broken or malicious producer can put on the transactions topic.

One generator serves the property tests (hypothesis strategies) and the end-to-end test
(a fixed, seeded mix), so both attack the stages with the same kinds of input:

* single-field mutations of a valid event: any JSON value in any field (wrong types, NaN
  and Infinity, numbers out of every range, deep nesting, huge strings);
* broken text: invalid UTF-8, truncation, duplicate keys, control characters, not an object;
* valid events whose free-text fields carry SQL metacharacters, markup and control-like
  text (they must land verbatim and never be executed or rendered).
"""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import strategies as st

from fraudstack.schema import FIELDS, event_to_json_bytes

#: Strings a stage must store and show as text, never execute or render.
NASTY_STRINGS: tuple[str, ...] = (
    "'; DROP TABLE fact_transactions; --",
    "Robert'); DELETE FROM alerts_sent WHERE ('1'='1",
    '" OR ""="',
    "<script>alert('xss')</script>",
    "<img src=x onerror=alert(1)>",
    "</td></tr></table><h1>pwned</h1>",
    "{{7*7}} ${7*7} %s %d %n",
    "$(touch /tmp/pwned) `id`",
    "\\N",
    "a\tb",
    "Zoë & Søn <GmbH>",
)
#: Free-text fields with no pattern: where a valid event can carry any of :data:`NASTY_STRINGS`.
FREE_TEXT_FIELDS: tuple[str, ...] = ("issuing_bank", "merchant_name", "merchant_category", "city")

#: Largest record a stage must survive: librdkafka's default message.max.bytes (1,000,000)
#: less room for the batch and record headers around the value.
MAX_MESSAGE_BYTES = 990_000


class DeepNesting:
    """A JSON value nested ``depth`` arrays deep: spliced in as text (json.dumps would recurse)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __repr__(self) -> str:
        return f"DeepNesting({self.depth})"

    @property
    def marker(self) -> str:
        return f"__deep_{self.depth}__"

    @property
    def text(self) -> bytes:
        return b"[" * self.depth + b"1" + b"]" * self.depth


#: Values no field accepts, or accepts only in some spellings.
SPECIAL_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**63,
    10**400,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    " ",
    "NaN",
    "1",
    "\x00",
    [],
    {},
    {"nested": ["x"]},
    DeepNesting(3000),
    *NASTY_STRINGS,
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=80)
    | st.sampled_from(SPECIAL_VALUES),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def encode(value: Any) -> bytes:
    """JSON bytes as a careless producer writes them (NaN and Infinity allowed)."""
    deep: list[DeepNesting] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, DeepNesting):
            deep.append(obj)
            return obj.marker
        return str(obj)

    raw = json.dumps(value, allow_nan=True, default=default).encode()
    for nesting in deep:
        raw = raw.replace(json.dumps(nesting.marker).encode(), nesting.text)
    return raw


def mutated(base: dict[str, Any], field: str, value: Any) -> bytes:
    """``base`` with one field set to ``value`` (``...`` removes the field)."""
    event = json.loads(event_to_json_bytes(base))
    if value is ...:
        event.pop(field, None)
    else:
        event[field] = value
    return encode(event)


def with_duplicate_key(raw: bytes, field: str, value: Any) -> bytes:
    """``raw`` with ``field`` appearing a second time (last), as text: dicts cannot hold it."""
    return raw[:-1] + b"," + json.dumps(field).encode() + b":" + encode(value) + b"}"


def broken_texts(raw: bytes) -> list[bytes]:
    """Ways the bytes of a valid record get broken on the way."""
    middle = len(raw) // 2
    return [
        raw[:middle],  # truncated
        raw[:middle] + b"\xff\xfe" + raw[middle:],  # invalid UTF-8 inside
        b"\xc3\x28" + raw,  # invalid UTF-8 lead
        raw.replace(b'"card_type":"', b'"card_type":"\x07', 1),  # raw control character
        raw.replace(b'"city":"', b'"city":"\xed\xa0\x80', 1),  # an encoded surrogate
        b"[" + raw + b"]",
        b"null",
        b"{}",
        b"{" * 5000 + b"}" * 5000,
        b"[" * 100_000,
        b" ",
        b"\x00" * 64,
        b'{"schema_version":1,' + b'"x":"' + b"y" * (MAX_MESSAGE_BYTES - 64) + b'"}',
    ]


def hostile_records(base_events: list[dict[str, Any]], count: int, seed: int) -> list[bytes]:
    """``count`` invalid records (seeded): field mutations, duplicate keys and broken text."""
    rng = random.Random(seed)
    first = event_to_json_bytes(base_events[0])
    # Every special value as the version (read before any other field), every broken text.
    out = [mutated(base_events[0], "schema_version", value) for value in SPECIAL_VALUES]
    out.extend(broken_texts(first))
    fields = [*FIELDS, "extra_field"]
    while len(out) < count:
        base = rng.choice(base_events)
        kind = rng.randrange(4)
        if kind == 0:
            out.extend(broken_texts(event_to_json_bytes(base)))
            continue
        field = rng.choice(fields)
        if kind == 1:
            # A value of the wrong kind for this field (a few are valid: these are skipped by the caller).
            out.append(mutated(base, field, rng.choice(SPECIAL_VALUES)))
        elif kind == 2:
            out.append(mutated(base, field, ...) if field in FIELDS else mutated(base, field, 1))
        else:
            out.append(with_duplicate_key(event_to_json_bytes(base), rng.choice(FIELDS), 1))
    return out[:count]


def nasty_valid(base: dict[str, Any], index: int, transaction_id: str) -> dict[str, Any]:
    """A valid event whose free-text fields carry hostile strings (they must land verbatim)."""
    event = dict(base, transaction_id=transaction_id)
    for offset, name in enumerate(FREE_TEXT_FIELDS):
        event[name] = NASTY_STRINGS[(index + offset) % len(NASTY_STRINGS)][:64]
    return event
