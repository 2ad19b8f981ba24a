"""Legitimate everyday spending: one local calendar day for the whole population at once.

Why per day: daily and weekly rhythms are natural per day, memory stays bounded however long
the run, and a per-day random stream makes output independent of how days are batched.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from fraudstack.simulator.catalog import (
    ATM,
    CAT,
    CATEGORIES,
    CHIP,
    CNP,
    CONTACTLESS,
    ECOM,
    MAGSTRIPE,
    MANUAL,
    PERSONAS,
    POS,
)
from fraudstack.simulator.core import US_PER_DAY, empty_rows, sample_rows
from fraudstack.simulator.world import FAVOURITE_WEIGHTS, FAVOURITES, QUARTER_HOURS, World

FAVOURITE_SHARE = 0.6  # share of purchases at one of the customer's usual merchants
BIG_PURCHASE_RATE = 0.003  # legitimate large purchases (look-alike for cash-outs)
_MEDIAN = np.array([c.median for c in CATEGORIES])
_SIGMA = np.array([c.sigma for c in CATEGORIES])
_ECOM_SHARE = np.array([c.ecom_share for c in CATEGORIES])
_SCALES = np.array([c.scales_with_spend for c in CATEGORIES])
_ONLINE_ONLY = np.array([c.online_only for c in CATEGORIES])
_WEEKEND = np.array([p.weekend for p in PERSONAS])
_FAV_CDF = np.cumsum(FAVOURITE_WEIGHTS)
_ALWAYS_CONTACTLESS = np.isin(np.arange(len(CATEGORIES)), [CAT["transit"], CAT["parking"]])


def local_times(
    world: World, cust: np.ndarray, day_start_us: int | np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """UTC event times on one local day (per customer, if an array), following each persona's rhythm."""
    quarter = sample_rows(world.hour_cdf, world.persona[cust].astype(np.int64), rng)
    local_us = (quarter * US_PER_DAY // QUARTER_HOURS) + rng.integers(
        0, US_PER_DAY // QUARTER_HOURS, len(cust)
    )
    return day_start_us + local_us - world.city_offset_us[world.home[cust]]


def amounts_cents(
    world: World,
    cust: np.ndarray,
    cat: np.ndarray,
    rng: np.random.Generator,
    spend: np.ndarray | float | None = None,
) -> np.ndarray:
    """Log-normal amounts per category, scaled by the customer's spending level.

    ``spend`` replaces the customer's level: a fraudster spending a stolen card buys what a
    shop's ordinary customer does, not what the card's owner would.
    """
    level = world.spend[cust] if spend is None else spend
    amount = _MEDIAN[cat] * np.where(_SCALES[cat], level, 1.0) * rng.lognormal(0, _SIGMA[cat])
    amount *= np.where(rng.random(len(cat)) < BIG_PURCHASE_RATE, rng.uniform(4, 15, len(cat)), 1.0)
    atm = cat == CAT["atm_cash"]
    amount[atm] = np.maximum(20, np.round(amount[atm] / 20) * 20)
    return np.clip(np.round(amount * 100), 50, 2_500_000).astype(np.int64)


def card_present_entry(cat: np.ndarray, chan: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Entry mode of legitimate transactions: chip or tap in shops, chip at ATMs, CNP online."""
    u = rng.random(len(cat))
    entry = np.where(u < 0.47, CHIP, np.where(u < 0.97, CONTACTLESS, MAGSTRIPE))
    entry = np.where(_ALWAYS_CONTACTLESS[cat], CONTACTLESS, entry)
    entry = np.where(chan == ATM, np.where(u < 0.98, CHIP, MAGSTRIPE), entry)
    return np.where(chan == ECOM, np.where(u < 0.97, CNP, MANUAL), entry).astype(np.int8)


def own_device_and_ip(
    world: World, cust: np.ndarray, t: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The customer's own phone/laptop (the new phone after a switch) and home/mobile/VPN IP."""
    laptop = world.has_laptop[cust] & (rng.random(len(cust)) < 0.4)
    phone_slot = np.where(t >= world.switch_us[cust], 2, 0)
    dev = 3 * cust + np.where(laptop, 1, phone_slot)
    ip = 2 * cust + (rng.random(len(cust)) < 0.35)
    vpn = world.vpn_exit[cust]
    return dev.astype(np.int32), np.where(vpn >= 0, vpn, ip).astype(np.int32)


def legit_day(world: World, day: date, rng: np.random.Generator) -> np.ndarray:
    """Every ordinary transaction of the real population on local calendar ``day``."""
    day_start_us = (day - date(1970, 1, 1)).days * US_PER_DAY
    n = world.n_real
    lam = world.rate[:n] * (_WEEKEND[world.persona[:n]] if day.weekday() >= 5 else 1.0)
    counts = rng.poisson(lam)
    cust = np.repeat(np.arange(n, dtype=np.int32), counts)
    t = local_times(world, cust, day_start_us, rng)

    # Travellers: nothing while in the air; card-present spending at the destination.
    dep, ret, flight = world.trip_dep_us[cust], world.trip_ret_us[cust], world.trip_flight_us[cust]
    flying = ((t >= dep) & (t < dep + flight)) | ((t >= ret) & (t < ret + flight))
    opened = t >= (world.created_day[cust].astype(np.int64) + 1) * US_PER_DAY
    keep = ~flying & opened
    cust, t = cust[keep], t[keep]
    away = (t >= world.trip_dep_us[cust] + world.trip_flight_us[cust]) & (t < world.trip_ret_us[cust])
    city = np.where(away, world.trip_dest[cust], world.home[cust])

    m = len(cust)
    fav = (rng.random(m) < FAVOURITE_SHARE) & ~away
    fav_slot = np.searchsorted(_FAV_CDF, rng.random(m) * _FAV_CDF[-1]).clip(0, FAVOURITES - 1)
    cat = sample_rows(world.category_cdf, world.persona[cust].astype(np.int64), rng)
    merch = world.pick_merchant(city, cat, rng)
    merch = np.where(fav, world.favourites[cust, fav_slot], merch)
    cat = world.merch_cat[merch].astype(np.int64)

    chan = np.where(_ONLINE_ONLY[cat] | (rng.random(m) < _ECOM_SHARE[cat]), ECOM, POS)
    chan = np.where(cat == CAT["atm_cash"], ATM, chan).astype(np.int8)
    dev, ip = own_device_and_ip(world, cust, t, rng)
    online = chan == ECOM

    rows = empty_rows(m)
    rows["t"], rows["cust"], rows["merch"], rows["chan"] = t, cust, merch, chan
    rows["entry"] = card_present_entry(cat, chan, rng)
    rows["cents"] = amounts_cents(world, cust, cat, rng)
    rows["dev"] = np.where(online, dev, -1)
    rows["ip"] = np.where(online, ip, -1)
    return rows
