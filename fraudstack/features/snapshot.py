"""Snapshots of the online feature state, taken without stopping the stream that updates it.

Why: serialising a scorer partition's whole state (tens of thousands of cards, megabytes of
JSON) takes 100 ms and more; done in one go, every transaction waiting behind it is late by
that much. A :class:`Capture` fixes the state as of one moment with a shallow copy of the card
index (microseconds per thousand cards) and serialises it a slice at a time
(:meth:`Capture.step`) between batches. A card about to change before its turn is serialised
first (copy-on-write: :meth:`fraudstack.features.OnlineFeatures.update` calls
:meth:`Capture.keep`), so the result is the state exactly as it was when the capture began.
Compression (:meth:`Capture.blob`) releases the GIL, so an upload thread can do it.

The format (zlib JSON with a format and feature version) is what
:meth:`fraudstack.features.OnlineFeatures.restore` reads.
"""

from __future__ import annotations

import json
import math
import time
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from fraudstack.features.definitions import FEATURE_VERSION

if TYPE_CHECKING:
    from fraudstack.features.online import CardState

SNAPSHOT_FORMAT = 1

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
_HEADER = f'{{"format":{SNAPSHOT_FORMAT},"feature_version":{FEATURE_VERSION},"cards":{{'
#: Cards serialised between two looks at the clock in :meth:`Capture.step`.
_SLICE = 8
#: Cards joined and compressed at a time in :meth:`Capture.blob`.
_PIECE = 256


class Capture:
    """One snapshot in the making: the cards as they were at construction, serialised bit by bit."""

    def __init__(self, cards: Mapping[str, CardState]) -> None:
        self._pending = dict(cards)
        self._parts: list[str] = []

    @property
    def done(self) -> bool:
        return not self._pending

    def keep(self, key: str) -> None:
        """Serialise ``key``'s card now if it has not been yet: it is about to change."""
        state = self._pending.pop(key, None)
        if state is not None:
            self._parts.append(_card_json(key, state))

    def step(self, seconds: float = math.inf) -> bool:
        """Serialise cards for about ``seconds`` (all of them by default); True when none are left."""
        pending, parts = self._pending, self._parts
        deadline = time.perf_counter() + seconds
        while pending:
            for _ in range(min(_SLICE, len(pending))):
                key, state = pending.popitem()
                parts.append(_card_json(key, state))
            if time.perf_counter() >= deadline:
                break
        return not pending

    def blob(self) -> bytes:
        """The compressed snapshot; call once :attr:`done`.

        Joined and encoded a few hundred cards at a time: one join of the whole text would hold
        the GIL for milliseconds per megabyte, stalling the scoring loop while another thread
        compresses (zlib itself releases the GIL).
        """
        if self._pending:
            raise RuntimeError("the capture is not complete: call step() until it returns True")
        parts, packer = self._parts, zlib.compressobj(3)
        out = [packer.compress(_HEADER.encode())]
        for start in range(0, len(parts), _PIECE):
            text = ",".join(parts[start : start + _PIECE])
            out.append(packer.compress(f"{',' if start else ''}{text}".encode()))
        out += [packer.compress(b"}}"), packer.flush()]
        return b"".join(out)


def _card_json(key: str, state: CardState) -> str:
    return _ENCODE({key: state.to_dict()})[1:-1]
