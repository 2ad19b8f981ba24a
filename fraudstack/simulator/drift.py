"""Drift injection: a schedule of changes to the simulated world from a given day on.

Why a schedule in the simulator: a model that keeps up (issue 19) can only be shown on
data that changes under it - more of one fraud pattern, a new one, inflated amounts, a wave
of customers on new phones - at a known moment, so that drift alarms, recall and the
retraining loop can be read against the onset.

Grammar (``--drift``), events separated by ``;``, a day counted from 1 at the run's start::

    day 20: card_testing x3          # incidents of an archetype at 3x the normal rate
    day 25: merchant_compromise on   # absent before day 25 (first event "on"), normal after
    day 28: velocity_attack off      # none from day 28 on
    day 22: amount x1.5              # every amount (legitimate and fraud) times 1.5
    day 21: new_phone 30%            # 30% of customers move to a new phone that day

A later event for the same target replaces the earlier one (``x1`` returns to normal).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from fraudstack.schema import FRAUD_TYPES
from fraudstack.simulator.core import US_PER_DAY

AMOUNT, NEW_PHONE = "amount", "new_phone"
Action = Literal["scale", "on", "off", "share"]

_EVENT = re.compile(r"day\s+(\d+)\s*:\s*(.+)", re.IGNORECASE)
_SCALE = re.compile(r"([a-z_]+)\s+x\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_SWITCH = re.compile(r"([a-z_]+)\s+(on|off)", re.IGNORECASE)
_SHARE = re.compile(r"new_phone\s+(\d+(?:\.\d+)?)\s*%", re.IGNORECASE)
_FORMS = '"<archetype> xN", "<archetype> on|off", "amount xN" or "new_phone N%"'


@dataclass(frozen=True, slots=True)
class DriftEvent:
    """One change: from the start of run day ``day`` (1-based), ``target`` gets ``action``.

    ``value`` is the rate or amount factor (``scale``) or the share of customers (``share``).
    """

    day: int
    target: str
    action: Action
    value: float = 1.0

    def __str__(self) -> str:
        what = {"scale": f"x{self.value:g}", "share": f"{self.value * 100:g}%"}.get(self.action, self.action)
        return f"day {self.day}: {self.target} {what}"


def parse_schedule(spec: str) -> tuple[DriftEvent, ...]:
    """Parse a ``--drift`` spec; a bad event raises ``ValueError`` naming it and the forms allowed."""
    events: list[DriftEvent] = []
    for text in (part.strip() for part in spec.split(";")):
        if text:
            events.append(_parse_event(text))
    if not events and spec.strip():
        raise ValueError("no drift event in the schedule (events are separated by ';')")
    return tuple(sorted(events, key=lambda e: e.day))


def _parse_event(text: str) -> DriftEvent:
    head = _EVENT.fullmatch(text)
    if head is None:
        raise ValueError(f'"{text}" does not start with "day N:"')
    day, action = int(head.group(1)), head.group(2).strip()
    if day < 1:
        raise ValueError(f'"{text}": days count from 1')
    if share := _SHARE.fullmatch(action):
        percent = float(share.group(1))
        if not 0 < percent <= 100:
            raise ValueError(f'"{text}": the share of customers must be above 0% and at most 100%')
        return DriftEvent(day, NEW_PHONE, "share", percent / 100)
    if scale := _SCALE.fullmatch(action):
        target, factor = _target(scale.group(1), text), float(scale.group(2))
        if target == AMOUNT and factor == 0:
            raise ValueError(f'"{text}": amounts cannot be scaled to 0')
        return DriftEvent(day, target, "scale", factor)
    if switch := _SWITCH.fullmatch(action):
        target = _target(switch.group(1), text)
        if target == AMOUNT:
            raise ValueError(f'"{text}": amounts cannot be switched on or off (use "amount xN")')
        return DriftEvent(day, target, "on" if switch.group(2).lower() == "on" else "off")
    raise ValueError(f'"{text}": expected {_FORMS} after "day N:"')


def _target(name: str, text: str) -> str:
    name = name.lower()
    if name != AMOUNT and name not in FRAUD_TYPES:
        choices = ", ".join(FRAUD_TYPES)
        raise ValueError(f'"{text}": unknown target {name!r} (choose amount or one of {choices})')
    return name


def onset_us(day0_us: int, event: DriftEvent) -> int:
    """When ``event`` takes effect: the UTC start of its day, ``day0_us`` being the run's first."""
    return day0_us + (event.day - 1) * US_PER_DAY


def rate_segments(
    events: Iterable[DriftEvent], target: str, day0_us: int, start_us: int, end_us: int
) -> list[tuple[int, int, float]]:
    """``[(from_us, to_us, rate factor)]`` covering ``[start_us, end_us)`` for one archetype.

    The factor is 0 before a first ``on`` (the archetype is new), 0 after ``off`` and the
    last ``xN`` while on; segments of the same factor are merged.
    """
    own = [e for e in events if e.target == target]
    active = not (own and own[0].action == "on")
    scale, at = 1.0, start_us
    segments: list[tuple[int, int, float]] = []
    for event in own:
        t = min(max(onset_us(day0_us, event), start_us), end_us)
        if t > at:
            segments.append((at, t, scale if active else 0.0))
            at = t
        if event.action == "scale":
            scale = event.value
        else:
            active = event.action == "on"
    segments.append((at, end_us, scale if active else 0.0))
    merged: list[tuple[int, int, float]] = []
    for seg in segments:
        if merged and merged[-1][2] == seg[2]:
            merged[-1] = (merged[-1][0], seg[1], seg[2])
        elif seg[1] > seg[0]:
            merged.append(seg)
    return merged


def amount_factor(events: Iterable[DriftEvent], day0_us: int, t: np.ndarray) -> np.ndarray:
    """The amount factor in force at each event time ``t`` (1 before any ``amount`` event)."""
    factor = np.ones(len(t))
    for event in events:
        if event.target == AMOUNT:
            factor[t >= onset_us(day0_us, event)] = event.value
    return factor


def switch_phones(
    events: Iterable[DriftEvent], day0_us: int, switch_us: np.ndarray, rng: np.random.Generator
) -> None:
    """Move a share of customers to their new phone on each ``new_phone`` day (in place).

    A customer already switched earlier keeps the earlier switch; the time within the day is
    uniform, as a phone launch spreads over its first day.
    """
    for event in events:
        if event.target == NEW_PHONE:
            chosen = rng.random(len(switch_us)) < event.value
            at = onset_us(day0_us, event) + rng.integers(0, US_PER_DAY, int(chosen.sum()))
            switch_us[chosen] = np.minimum(switch_us[chosen], at)
