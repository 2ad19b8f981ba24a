"""The simulated world: customers with personas, cards, devices, IPs and merchants.

Built once per run from the seed, as flat numpy arrays indexed by entity number, so that
behaviour generators can look everything up with fancy indexing. Strings (ids, names,
tokens) are built once here and referenced by index from every transaction.

Index layout (why: one integer per row identifies each entity without extra tables):

* customers ``0..n_real-1`` are the legitimate population; ``n_real..`` are synthetic
  identities created by fraudsters. Customer ``c`` holds card ``c``.
* devices: ``3c`` phone, ``3c+1`` laptop, ``3c+2`` the phone a customer switches to
  (a legitimate "new device"); then a pool of fraudster devices.
* IPs: ``2c`` home broadband, ``2c+1`` mobile; then commercial VPN exits (shared by privacy-
  minded customers *and* fraudsters), then fraudster IPs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from fraudstack.simulator import catalog
from fraudstack.simulator.catalog import CATEGORIES, CITIES, PERSONAS
from fraudstack.simulator.config import SimulationConfig
from fraudstack.simulator.core import (
    US_PER_DAY,
    US_PER_HOUR,
    cdf_table,
    fixed_width_strings,
    haversine_km,
    hex_strings,
    sample_rows,
)

FAVOURITES = 6
FAVOURITE_WEIGHTS = np.array([0.32, 0.22, 0.16, 0.12, 0.10, 0.08])
VPN_EXITS = 64
FRAUD_DEVICES = 400
FRAUD_IPS = 600
QUARTER_HOURS = 96
#: Legitimate look-alike rates (per customer over a 30-day window).
TRIP_RATE_30D = 0.05
DEVICE_SWITCH_RATE_30D = 0.05
PRIVACY_VPN_SHARE = 0.04
NEW_ACCOUNT_SHARE = 0.03
FLIGHT_SPEED_KMH = 750.0  # door-to-door legitimate travel is slower than this


def _hour_profiles() -> np.ndarray:
    """Quarter-hour activity curve per persona: peaks plus a quiet night."""
    hours = (np.arange(QUARTER_HOURS) + 0.5) / 4
    curves = []
    for persona in PERSONAS:
        curve = np.full(QUARTER_HOURS, 0.03)
        for peak in persona.hour_peaks:
            dist = np.minimum(np.abs(hours - peak), 24 - np.abs(hours - peak))
            curve += np.exp(-0.5 * (dist / 2.2) ** 2)
        curve[(hours >= 1) & (hours < 6)] *= 0.15
        curves.append(curve)
    return cdf_table(np.array(curves))


@dataclass(frozen=True, slots=True, eq=False)
class World:
    """Every entity of a run; see the module docstring for the index layout."""

    n_real: int
    # cities
    city_lat: np.ndarray
    city_lon: np.ndarray
    city_offset_us: np.ndarray
    city_country: np.ndarray
    countries: list[str]
    # customers (and their cards)
    persona: np.ndarray
    home: np.ndarray
    spend: np.ndarray
    rate: np.ndarray
    created_day: np.ndarray  # days since epoch
    card_type: np.ndarray
    bank: np.ndarray
    has_laptop: np.ndarray
    vpn_exit: np.ndarray  # IP index of a privacy customer's VPN, NONE otherwise
    favourites: np.ndarray  # (customers, FAVOURITES) merchant indices
    switch_us: np.ndarray  # when the customer moves to the new phone (int64 max = never)
    trip_dep_us: np.ndarray  # departure; int64 max = no trip
    trip_ret_us: np.ndarray
    trip_flight_us: np.ndarray
    trip_dest: np.ndarray
    # merchants
    merch_cat: np.ndarray
    merch_city: np.ndarray
    merch_lat: np.ndarray
    merch_lon: np.ndarray
    local_start: np.ndarray  # (cities, categories) first merchant of the group
    local_count: np.ndarray
    online_start: np.ndarray  # (categories,) online-only merchants
    online_count: np.ndarray
    # devices and IPs
    device_os: np.ndarray
    ip_city: np.ndarray
    ip_lat: np.ndarray
    ip_lon: np.ndarray
    ip_vpn: np.ndarray
    # shared tables
    hour_cdf: np.ndarray
    category_cdf: np.ndarray  # per persona
    # strings, as Arrow arrays indexed like the entities
    customer_ids: pa.Array
    card_ids: pa.Array
    card_tokens: pa.Array
    merchant_ids: pa.Array
    merchant_names: pa.Array
    device_ids: pa.Array
    ip_addresses: pa.Array

    @property
    def n_customers(self) -> int:
        return len(self.persona)

    @property
    def fraud_device_base(self) -> int:
        return 3 * self.n_customers

    @property
    def vpn_ip_base(self) -> int:
        return 2 * self.n_customers

    @property
    def fraud_ip_base(self) -> int:
        return self.vpn_ip_base + VPN_EXITS

    @property
    def max_home_offset_us(self) -> int:
        """The easternmost home time zone; bounds how early a later local day can start."""
        return int(self.city_offset_us[self.home[: self.n_real]].max())

    def pick_merchant(self, city: np.ndarray, cat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A uniformly random merchant of category ``cat`` near ``city`` (or online)."""
        online = np.array([c.online_only for c in CATEGORIES])[cat]
        start = np.where(online, self.online_start[cat], self.local_start[city, cat])
        count = np.where(online, self.online_count[cat], self.local_count[city, cat])
        return (start + (rng.random(len(cat)) * count).astype(np.int64)).astype(np.int32)


def _build_merchants(config: SimulationConfig, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Merchants grouped by (city, category), online-only ones after them grouped by category."""
    n_cities, n_cats = len(CITIES), len(CATEGORIES)
    weights = np.array([c.weight for c in CITIES])
    online = np.array([c.online_only for c in CATEGORIES])
    per_city = np.maximum(3, np.round(config.customers * weights / weights.sum() / 40)).astype(np.int64)
    local_count = np.where(online[None, :], 0, per_city[:, None]).astype(np.int64)
    online_count = np.where(online, max(5, config.customers // 400), 0).astype(np.int64)
    local_start = (np.cumsum(local_count.ravel()) - local_count.ravel()).reshape(n_cities, n_cats)
    n_local = int(local_count.sum())
    online_start = n_local + np.cumsum(online_count) - online_count
    cat = np.concatenate(
        [
            np.repeat(np.tile(np.arange(n_cats), n_cities), local_count.ravel()),
            np.repeat(np.arange(n_cats), online_count),
        ]
    )
    city = np.concatenate(
        [
            np.repeat(np.repeat(np.arange(n_cities), n_cats), local_count.ravel()),
            rng.integers(0, 20, int(online_count.sum())),
        ]
    )
    lat = np.array([c.lat for c in CITIES])[city] + rng.normal(0, 0.05, len(city))
    lon = np.array([c.lon for c in CITIES])[city] + rng.normal(0, 0.05, len(city))
    return cat, city, lat, lon, local_start, local_count, online_start, online_count


def build_world(config: SimulationConfig, n_synthetic: int, rng: np.random.Generator) -> World:
    """Draw the whole population for ``config`` plus ``n_synthetic`` fraudster-made identities."""
    n_real = config.customers
    n = n_real + n_synthetic
    start_us = int(config.start_utc.timestamp()) * 1_000_000
    window_us = config.days * US_PER_DAY
    start_day = start_us // US_PER_DAY

    city_lat = np.array([c.lat for c in CITIES])
    city_lon = np.array([c.lon for c in CITIES])
    countries = sorted({c.country for c in CITIES})
    city_country = np.array([countries.index(c.country) for c in CITIES], dtype=np.int32)
    home_weights = np.array([c.weight for c in CITIES])

    persona = rng.choice(len(PERSONAS), n, p=np.array([p.share for p in PERSONAS])).astype(np.int8)
    home = rng.choice(len(CITIES), n, p=home_weights / home_weights.sum()).astype(np.int16)
    spend = np.array([p.spend for p in PERSONAS])[persona] * rng.lognormal(-0.08, 0.4, n)
    rate = np.array([p.tx_per_day for p in PERSONAS])[persona] * rng.lognormal(-0.125, 0.5, n)
    age_days = rng.integers(60, 15 * 365, n)
    new = rng.random(n) < NEW_ACCOUNT_SHARE
    age_days[new] = rng.integers(-config.days, 21, int(new.sum()))  # opened just before or during
    created_day = (start_day - age_days).astype(np.int32)
    card_type = rng.choice(3, n, p=[0.45, 0.5, 0.05]).astype(np.int8)
    bank = rng.integers(0, len(catalog.ISSUING_BANKS), n).astype(np.int8)
    has_laptop = rng.random(n) < 0.5

    cat_w = np.array([[p.categories.get(c.name, 0.0) for c in CATEGORIES] for p in PERSONAS])
    category_cdf = cdf_table(cat_w)

    m_cat, m_city, m_lat, m_lon, local_start, local_count, online_start, online_count = _build_merchants(
        config, rng
    )
    world_partial = dict(
        merch_cat=m_cat.astype(np.int16),
        merch_city=m_city.astype(np.int16),
        merch_lat=m_lat,
        merch_lon=m_lon,
        local_start=local_start,
        local_count=local_count,
        online_start=online_start,
        online_count=online_count,
    )

    # Favourite merchants: drawn like ordinary purchases, from the home city.
    fav_cat = sample_rows(category_cdf, np.repeat(persona.astype(np.int64), FAVOURITES), rng)
    fav_city = np.repeat(home, FAVOURITES)
    online = np.array([c.online_only for c in CATEGORIES])[fav_cat]
    start = np.where(online, online_start[fav_cat], local_start[fav_city, fav_cat])
    count = np.where(online, online_count[fav_cat], local_count[fav_city, fav_cat])
    favourites = (
        (start + (rng.random(len(start)) * count).astype(np.int64)).reshape(n, FAVOURITES).astype(np.int32)
    )

    never = np.iinfo(np.int64).max
    scale = config.days / 30
    switch_us = np.full(n, never, dtype=np.int64)
    switches = rng.random(n) < min(0.5, DEVICE_SWITCH_RATE_30D * scale)
    switch_us[switches] = start_us + rng.integers(0, window_us, int(switches.sum()))

    # One trip at most per customer: a far destination, reached at plausible speed.
    trip_dep = np.full(n, never, dtype=np.int64)
    trip_ret = np.full(n, never, dtype=np.int64)
    trip_flight = np.zeros(n, dtype=np.int64)
    trip_dest = home.copy()
    travels = np.flatnonzero(rng.random(n_real) < min(0.6, TRIP_RATE_30D * scale))
    dest = rng.integers(0, len(CITIES), len(travels))
    dist = haversine_km(city_lat[home[travels]], city_lon[home[travels]], city_lat[dest], city_lon[dest])
    ok = dist > 500
    travels, dest, dist = travels[ok], dest[ok], dist[ok]
    flight = ((dist / FLIGHT_SPEED_KMH + 1.0) * US_PER_HOUR).astype(np.int64)
    stay = rng.integers(2 * US_PER_DAY, 8 * US_PER_DAY, len(travels))
    dep = start_us + rng.integers(0, window_us, len(travels))
    trip_dep[travels], trip_flight[travels], trip_dest[travels] = dep, flight, dest
    trip_ret[travels] = dep + flight + stay

    # Devices and IPs.
    n_dev = 3 * n + FRAUD_DEVICES
    phone_os = rng.choice(5, n, p=catalog.PHONE_OS_WEIGHTS)
    laptop_os = rng.choice(5, n, p=catalog.LAPTOP_OS_WEIGHTS)
    new_phone_os = np.where(rng.random(n) < 0.8, phone_os, rng.choice(5, n, p=catalog.PHONE_OS_WEIGHTS))
    device_os = np.empty(n_dev, dtype=np.int8)
    device_os[0 : 3 * n : 3], device_os[1 : 3 * n : 3], device_os[2 : 3 * n : 3] = (
        phone_os,
        laptop_os,
        new_phone_os,
    )
    device_os[3 * n :] = rng.choice(5, FRAUD_DEVICES, p=[0.3, 0.3, 0.25, 0.05, 0.1])

    foreign = np.array([c.weight == 0 for c in CITIES])
    n_ip = 2 * n + VPN_EXITS + FRAUD_IPS
    ip_city = np.empty(n_ip, dtype=np.int16)
    ip_city[0 : 2 * n : 2], ip_city[1 : 2 * n : 2] = home, home
    any_city_p = np.where(foreign, 2.0, 1.0) / np.where(foreign, 2.0, 1.0).sum()
    ip_city[2 * n :] = rng.choice(len(CITIES), VPN_EXITS + FRAUD_IPS, p=any_city_p)
    ip_vpn = np.zeros(n_ip, dtype=bool)
    ip_vpn[2 * n : 2 * n + VPN_EXITS] = True
    ip_vpn[2 * n + VPN_EXITS :] = rng.random(FRAUD_IPS) < 0.3  # private proxies of fraud rings
    ip_lat = city_lat[ip_city] + rng.normal(0, 0.08, n_ip)
    ip_lon = city_lon[ip_city] + rng.normal(0, 0.08, n_ip)
    privacy = rng.random(n) < PRIVACY_VPN_SHARE
    vpn_exit = np.where(privacy, 2 * n + rng.integers(0, VPN_EXITS, n), -1).astype(np.int32)

    ip_octets = rng.integers(1, 255, (n_ip, 4))
    ip_addresses = pa.array([f"{a}.{b}.{c}.{d}" for a, b, c, d in ip_octets.tolist()], type=pa.string())
    n_merch = len(m_cat)
    names = [catalog.merchant_name(CATEGORIES[c].name, i) for i, c in enumerate(m_cat.tolist())]
    return World(
        n_real=n_real,
        city_lat=city_lat,
        city_lon=city_lon,
        city_offset_us=np.array([c.utc_offset for c in CITIES], dtype=np.int64) * US_PER_HOUR,
        city_country=city_country,
        countries=countries,
        persona=persona,
        home=home,
        spend=spend,
        rate=rate,
        created_day=created_day,
        card_type=card_type,
        bank=bank,
        has_laptop=has_laptop,
        vpn_exit=vpn_exit,
        favourites=favourites,
        switch_us=switch_us,
        trip_dep_us=trip_dep,
        trip_ret_us=trip_ret,
        trip_flight_us=trip_flight,
        trip_dest=trip_dest,
        device_os=device_os,
        ip_city=ip_city,
        ip_lat=ip_lat,
        ip_lon=ip_lon,
        ip_vpn=ip_vpn,
        hour_cdf=_hour_profiles(),
        category_cdf=category_cdf,
        customer_ids=fixed_width_strings("cus_", np.arange(n), 8),
        card_ids=fixed_width_strings("card_", np.arange(n), 8),
        card_tokens=hex_strings("tok_", rng.integers(0, 256, (n, 12), dtype=np.uint8)),
        merchant_ids=fixed_width_strings("mer_", np.arange(n_merch), 6),
        merchant_names=pa.array(names, type=pa.string()),
        device_ids=fixed_width_strings("dev_", np.arange(n_dev), 9),
        ip_addresses=ip_addresses,
        **world_partial,
    )
