"""Legitimate behaviour that looks like fraud, so labels cannot be read off one field.

Each fraud archetype has an innocent twin in the data:

==================  =====================================================================
archetype           legitimate look-alike (where it is made)
==================  =====================================================================
card testing        in-app micro-purchase runs (here); transit and parking taps (catalog)
velocity attack     shopping sprees: several purchases at different shops within minutes (here)
account takeover    customers switching to a new phone (world); legitimate big purchases
                    (legit); privacy-minded customers always on shared VPN exits (world)
impossible travel   travellers flying at plausible speed (world + legit); mobile-data and VPN
                    IPs geolocating far from where the card is used (world)
synthetic identity  genuinely new accounts opened just before or during the window (world)
merchant compromise popular merchants drawing a burst of cards new to them in one day: an
                    opening, a promotion, an event nearby (here)
==================  =====================================================================
"""

from __future__ import annotations

from datetime import date

import numpy as np

from fraudstack.simulator.catalog import CAT, CHIP, CNP, CONTACTLESS, ECOM, POS
from fraudstack.simulator.core import (
    US_PER_DAY,
    US_PER_MINUTE,
    US_PER_SECOND,
    empty_rows,
    session_offsets,
)
from fraudstack.simulator.legit import amounts_cents, card_present_entry, local_times, own_device_and_ip
from fraudstack.simulator.world import World

MICRO_RUNS_PER_CUSTOMER_DAY = 0.004
MICRO_RUN_SIZE = (2, 6)  # events, inclusive
MICRO_RUN_GAP_US = (15 * US_PER_SECOND, 4 * US_PER_MINUTE)
MICRO_PRICES_CENTS = np.array([99, 99, 199, 299, 499])

SPREES_PER_CUSTOMER_DAY = 0.002
SPREE_SIZE = (2, 4)
SPREE_GAP_US = (4 * US_PER_MINUTE, 25 * US_PER_MINUTE)
SPREE_CATEGORIES = np.array([CAT["department_store"], CAT["electronics"], CAT["jewelry"], CAT["furniture"]])

#: About one burst a day per 5,000 customers: as many as merchant compromises, or more.
BURSTS_PER_CUSTOMER_DAY = 0.0002
BURST_CARDS = (10, 40)
BURST_CATEGORIES = np.array([CAT["restaurant"], CAT["fuel"], CAT["grocery"], CAT["department_store"]])


def _sessions(
    world: World, day: date, rate: float, size: tuple[int, int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who has a session today, how long it is, and the time of each event."""
    day_start_us = (day - date(1970, 1, 1)).days * US_PER_DAY
    n_sessions = rng.poisson(world.n_real * rate)
    who = rng.integers(0, world.n_real, n_sessions).astype(np.int32)
    sizes = rng.integers(size[0], size[1] + 1, n_sessions)
    starts = local_times(world, who, day_start_us, rng)
    opened = starts >= (world.created_day[who].astype(np.int64) + 1) * US_PER_DAY
    home = starts < world.trip_dep_us[who]
    who, sizes, starts = who[opened & home], sizes[opened & home], starts[opened & home]
    return who, sizes, starts


def micro_payment_runs(world: World, day: date, rng: np.random.Generator) -> np.ndarray:
    """Runs of small in-app purchases from the customer's own device, seconds to minutes apart."""
    who, sizes, starts = _sessions(world, day, MICRO_RUNS_PER_CUSTOMER_DAY, MICRO_RUN_SIZE, rng)
    offsets = session_offsets(sizes, *MICRO_RUN_GAP_US, rng)
    cat = np.full(len(who), CAT["digital_goods"])
    merch = world.pick_merchant(world.home[who], cat, rng)
    cust = np.repeat(who, sizes)
    rows = empty_rows(len(cust))
    rows["t"] = np.repeat(starts, sizes) + offsets
    rows["cust"], rows["merch"] = cust, np.repeat(merch, sizes)
    rows["chan"], rows["entry"] = ECOM, CNP
    rows["cents"] = rng.choice(MICRO_PRICES_CENTS, len(cust))
    rows["dev"], rows["ip"] = own_device_and_ip(world, cust, rows["t"], rng)
    return rows


def shopping_sprees(world: World, day: date, rng: np.random.Generator) -> np.ndarray:
    """A few sizeable card-present purchases at different shops in the home city within minutes."""
    who, sizes, starts = _sessions(world, day, SPREES_PER_CUSTOMER_DAY, SPREE_SIZE, rng)
    offsets = session_offsets(sizes, *SPREE_GAP_US, rng)
    cust = np.repeat(who, sizes)
    cat = rng.choice(SPREE_CATEGORIES, len(cust))
    merch = world.pick_merchant(world.home[cust], cat, rng)
    rows = empty_rows(len(cust))
    rows["t"] = np.repeat(starts, sizes) + offsets
    rows["cust"], rows["merch"], rows["chan"] = cust, merch, POS
    rows["entry"] = np.where(rng.random(len(cust)) < 0.6, CHIP, CONTACTLESS)
    amount = 90.0 * world.spend[cust] * rng.lognormal(0, 0.6, len(cust))
    rows["cents"] = np.clip(np.round(amount * 100), 500, 1_000_000).astype(np.int64)
    return rows


def popular_merchant_bursts(world: World, day: date, rng: np.random.Generator) -> np.ndarray:
    """A local merchant visited in one day by many cards that are mostly new to it, all genuine.

    The twin of a breached merchant's window (``merchant_compromise`` in
    :mod:`fraudstack.simulator.fraud`): a burst of cards at one till that nobody defrauds afterwards.
    """
    day_start_us = (day - date(1970, 1, 1)).days * US_PER_DAY
    parts = [empty_rows()]
    for _ in range(rng.poisson(world.n_real * BURSTS_PER_CUSTOMER_DAY)):
        city = world.home[rng.integers(0, world.n_real, 1)]
        merchant = int(world.pick_merchant(city, rng.choice(BURST_CATEGORIES, 1), rng)[0])
        locals_ = np.flatnonzero(world.home[: world.n_real] == city[0])
        who = rng.choice(locals_, min(len(locals_), int(rng.integers(BURST_CARDS[0], BURST_CARDS[1] + 1))))
        who = who.astype(np.int32)
        t = local_times(world, who, day_start_us, rng)
        keep = (t >= (world.created_day[who].astype(np.int64) + 1) * US_PER_DAY) & (
            t < world.trip_dep_us[who]
        )
        rows = empty_rows(int(keep.sum()))
        rows["t"], rows["cust"], rows["merch"], rows["chan"] = t[keep], who[keep], merchant, POS
        cat = np.full(len(rows), world.merch_cat[merchant], dtype=np.int64)
        rows["entry"] = card_present_entry(cat, rows["chan"], rng)
        rows["cents"] = amounts_cents(world, rows["cust"], cat, rng)
        parts.append(rows)
    return np.concatenate(parts)
