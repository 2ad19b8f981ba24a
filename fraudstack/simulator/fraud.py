"""The six fraud archetypes, planned for the whole run up front.

Why up front: incidents span minutes (bursts) to weeks (synthetic identities) and must not be
cut at day boundaries. Fraud rows are ~1% of the stream, so the whole plan stays small even
for 10M-row runs; the streamer merges it into the legitimate days by event time.

Every tunable number lives in :data:`PARAMS`, next to the pattern it creates, so tests and
feature engineering can refer to the same thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraudstack.schema import FRAUD_TYPES
from fraudstack.simulator.catalog import (
    ATM,
    CAT,
    CATEGORIES,
    CHIP,
    CITIES,
    CNP,
    ECOM,
    MAGSTRIPE,
    PERSONAS,
    POS,
)
from fraudstack.simulator.config import SimulationConfig
from fraudstack.simulator.core import (
    NO_FRAUD,
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_MINUTE,
    US_PER_SECOND,
    empty_rows,
    haversine_km,
    position_in_session,
    session_offsets,
)
from fraudstack.simulator.drift import rate_segments
from fraudstack.simulator.legit import amounts_cents, card_present_entry, local_times, own_device_and_ip
from fraudstack.simulator.world import FRAUD_DEVICES, FRAUD_IPS, VPN_EXITS, World

ATO, CARD_TESTING, VELOCITY, TRAVEL, SYNTHETIC, MERCHANT = range(6)
assert FRAUD_TYPES[TRAVEL] == "impossible_travel" and FRAUD_TYPES[SYNTHETIC] == "synthetic_identity"
assert FRAUD_TYPES[MERCHANT] == "merchant_compromise"

ONLINE_CASHOUT = np.array([CAT["online_marketplace"], CAT["quasi_cash"], CAT["airline"], CAT["electronics"]])
STORE_CASHOUT = np.array([CAT["electronics"], CAT["jewelry"], CAT["department_store"], CAT["atm_cash"]])
#: Where card data is stolen: skimmers at pumps and tills, breached web shops.
COMPROMISED = np.array([CAT["fuel"], CAT["restaurant"], CAT["grocery"], CAT["online_marketplace"]])
#: Where stolen card data is used online: ordinary web shops whose goods resell.
MC_ONLINE = np.array([CAT["online_marketplace"], CAT["department_store"], CAT["electronics"]])
_ONLINE_ONLY = np.array([c.online_only for c in CATEGORIES])


@dataclass(frozen=True, slots=True)
class FraudParams:
    """Every knob of every archetype; ``share`` is each archetype's share of fraud rows."""

    share: tuple[float, ...] = (0.13, 0.3, 0.17, 0.1, 0.15, 0.15)
    # account takeover: one large online purchase from a new device and IP
    ato_median_usd: float = 1_200.0
    ato_min_usd: float = 300.0
    ato_vpn_share: float = 0.5
    # card testing: a burst of tiny online charges, often followed by a large one
    ct_size: tuple[int, int] = (5, 25)
    ct_gap_us: tuple[int, int] = (2 * US_PER_SECOND, 40 * US_PER_SECOND)
    ct_cents: tuple[int, int] = (50, 299)
    ct_follow_up_share: float = 0.6
    ct_follow_up_delay_us: tuple[int, int] = (5 * US_PER_MINUTE, 120 * US_PER_MINUTE)
    ct_follow_up_usd: tuple[float, float] = (250.0, 2_000.0)
    # velocity attack: several high-value purchases at different merchants within minutes
    vel_size: tuple[int, int] = (3, 8)
    vel_gap_us: tuple[int, int] = (20 * US_PER_SECOND, 4 * US_PER_MINUTE)
    vel_usd: tuple[float, float] = (200.0, 1_500.0)
    # cloned cards are cashed out where the ring operates: this often the victim's own city,
    # else any city (velocity attacks and merchant compromise)
    ring_home_share: float = 0.5
    # impossible travel: a cloned card used far away shortly after a genuine purchase at home
    travel_min_km: float = 2_000.0
    travel_min_speed_kmh: float = 1_200.0
    travel_gap_us: tuple[int, int] = (10 * US_PER_MINUTE, 2 * US_PER_HOUR)
    travel_extra: tuple[int, int] = (0, 2)  # more fraud rows in the far city
    travel_median_usd: float = 250.0  # also a merchant-compromise counterfeit's in-store cash-out
    # synthetic identity: new account, small warm-up purchases, then a large cash-out
    syn_warmup: tuple[int, int] = (4, 12)
    syn_warmup_days: tuple[int, int] = (10, 25)
    syn_opened_before_days: tuple[int, int] = (0, 7)
    syn_cashout: tuple[int, int] = (1, 3)
    syn_cashout_usd: tuple[float, float] = (1_500.0, 5_000.0)
    # merchant compromise: cards used at a breached merchant during a window are defrauded
    # later by a ring that holds the cards' data, not their owners' habits
    mc_window_days: tuple[int, int] = (2, 8)
    mc_victims: tuple[int, int] = (8, 30)  # cards skimmed per incident (all defrauded later)
    mc_delay_days: tuple[float, float] = (0.5, 12.0)  # window end -> a card's first fraud
    mc_rows: tuple[int, int] = (1, 3)  # fraud rows per defrauded card
    mc_at_merchant_share: float = 0.3  # frauds back at the breached merchant itself
    mc_online_share: float = 0.5  # of a till's frauds elsewhere: online, on the ring's devices
    mc_ring_devices: tuple[int, int] = (1, 3)  # devices (and IPs) one ring uses for all its cards
    mc_ring_stores: tuple[int, int] = (2, 4)  # cash-out stores in the ring's city, for all its cards
    mc_outings: tuple[int, int] = (1, 4)  # the ring's trips to its stores, each with many cards
    mc_outing_us: int = 2 * US_PER_HOUR  # one trip's length
    mc_shop_hours: tuple[int, int] = (10, 20)  # local hours of the ring's in-store frauds
    # online and at the breach: times what a shop's ordinary customer spends there
    mc_amount_factor: tuple[float, float] = (1.0, 2.5)

    def rows_per_incident(self) -> np.ndarray:
        """Expected fraud rows per incident, to turn a fraud rate into incident counts."""
        return np.array(
            [
                1.0,
                sum(self.ct_size) / 2 + self.ct_follow_up_share,
                sum(self.vel_size) / 2,
                1.0 + sum(self.travel_extra) / 2,
                sum(self.syn_warmup) / 2 + sum(self.syn_cashout) / 2,
                sum(self.mc_victims) / 2 * sum(self.mc_rows) / 2,
            ]
        )


PARAMS = FraudParams()
#: A legitimate traveller never beats this; every impossible-travel pair does.
PLAUSIBLE_SPEED_KMH = 1_000.0


def incident_counts(config: SimulationConfig, rng: np.random.Generator) -> np.ndarray:
    """Incidents per archetype so that fraud rows make up ``config.fraud_rate`` of the stream.

    At least one incident of each archetype whenever fraud is on: every archetype must be
    present (and testable) even in a tiny world.
    """
    if config.fraud_rate == 0:
        return np.zeros(len(FRAUD_TYPES), dtype=np.int64)
    per_customer_day = sum(p.share * p.tx_per_day for p in PERSONAS)
    legit_rows = config.customers * config.days * per_customer_day
    fraud_rows = legit_rows * config.fraud_rate / (1 - config.fraud_rate)
    expected = fraud_rows * np.array(PARAMS.share) / PARAMS.rows_per_incident()
    return np.maximum(1, rng.poisson(expected))


def run_span(config: SimulationConfig) -> tuple[int, int]:
    """The UTC span, in microseconds, in which incidents start."""
    start_us = int(config.start_utc.timestamp()) * US_PER_SECOND + 6 * US_PER_HOUR
    return start_us, start_us - 6 * US_PER_HOUR + config.days * US_PER_DAY


Segments = dict[int, list[tuple[int, int, int]]]


def segment_counts(config: SimulationConfig, counts: np.ndarray, rng: np.random.Generator) -> Segments:
    """Per archetype, ``[(from_us, to_us, incidents)]``: the whole run unless drift changes it.

    A drifted archetype's incidents are drawn per segment at the run's rate times the
    segment's factor, from ``rng`` (a stream of their own: a run without drift draws exactly
    what it drew before the schedule existed). Known before the world is built, because each
    synthetic identity is a customer of the world.
    """
    start_us, end_us = run_span(config)
    day0_us = int(config.start_utc.timestamp()) * US_PER_SECOND
    plan: Segments = {}
    for ftype, name in enumerate(FRAUD_TYPES):
        segments = rate_segments(config.drift, name, day0_us, start_us, end_us)
        if segments == [(start_us, end_us, 1.0)]:
            plan[ftype] = [(start_us, end_us, int(counts[ftype]))]
            continue
        rate = counts[ftype] / (end_us - start_us)
        plan[ftype] = [(lo, hi, int(rng.poisson(rate * factor * (hi - lo)))) for lo, hi, factor in segments]
    return plan


class _Planner:
    """Builds the incident rows of one archetype at a time; ``window`` is the UTC span."""

    def __init__(self, world: World, config: SimulationConfig, rng: np.random.Generator) -> None:
        self.world, self.rng = world, rng
        self.start_us, self.end_us = run_span(config)
        self.synthetic_used = 0  # identities planned so far (one call per drift segment)
        established = np.flatnonzero(
            world.created_day[: world.n_real] * US_PER_DAY < self.start_us - 30 * US_PER_DAY
        )
        self.victims_pool = established if len(established) else np.arange(world.n_real)
        self.span = (self.start_us, self.end_us)

    def times(self, n: int, room_us: int = 0) -> np.ndarray:
        """Incident start times in ``span`` (the run, or one drift segment of it).

        ``room_us`` keeps an incident of that length inside the run, not inside a segment:
        an incident begun before a drift onset may run past it.
        """
        lo, to_us = self.span
        hi = max(lo + 1, min(to_us, self.end_us - room_us))
        return self.rng.integers(lo, hi, n)

    def victims(self, n: int) -> np.ndarray:
        return self.rng.choice(self.victims_pool, n).astype(np.int32)

    def fraud_device(self, n: int) -> np.ndarray:
        return (self.world.fraud_device_base + self.rng.integers(0, FRAUD_DEVICES, n)).astype(np.int32)

    def fraud_ip(self, n: int, vpn_share: float) -> np.ndarray:
        vpn = self.world.vpn_ip_base + self.rng.integers(0, VPN_EXITS, n)
        own = self.world.fraud_ip_base + self.rng.integers(0, FRAUD_IPS, n)
        return np.where(self.rng.random(n) < vpn_share, vpn, own).astype(np.int32)

    def usd(self, lo: float, hi: float, n: int) -> np.ndarray:
        return np.round(self.rng.uniform(lo, hi, n) * 100).astype(np.int64)

    def account_takeover(self, n: int) -> np.ndarray:
        p, rng = PARAMS, self.rng
        rows = empty_rows(n)
        rows["t"], rows["cust"] = self.times(n), self.victims(n)
        cat = rng.choice(ONLINE_CASHOUT, n)
        rows["merch"] = self.world.pick_merchant(self.world.home[rows["cust"]], cat, rng)
        rows["chan"], rows["entry"] = ECOM, CNP
        rows["dev"], rows["ip"] = self.fraud_device(n), self.fraud_ip(n, p.ato_vpn_share)
        amount = np.maximum(p.ato_min_usd, p.ato_median_usd * rng.lognormal(0, 0.6, n))
        rows["cents"] = np.round(amount * 100).astype(np.int64)
        return rows

    def card_testing(self, n: int) -> np.ndarray:
        p, rng = PARAMS, self.rng
        follow = rng.random(n) < p.ct_follow_up_share
        tests = rng.integers(p.ct_size[0], p.ct_size[1] + 1, n)
        sizes = tests + follow
        offsets = session_offsets(sizes, *p.ct_gap_us, rng)
        pos = position_in_session(sizes)
        is_follow = np.repeat(follow, sizes) & (pos == np.repeat(sizes, sizes) - 1)
        offsets = offsets + np.where(is_follow, rng.integers(*p.ct_follow_up_delay_us, len(pos)), 0)
        test_cat = rng.choice([CAT["digital_goods"], CAT["charity"]], n)
        test_merch = self.world.pick_merchant(np.zeros(n, dtype=np.int64), test_cat, rng)
        big_merch = self.world.pick_merchant(
            np.zeros(n, dtype=np.int64), rng.choice(ONLINE_CASHOUT[:3], n), rng
        )
        rows = empty_rows(len(pos))
        rows["t"] = np.repeat(self.times(n, 3 * US_PER_HOUR), sizes) + offsets
        rows["cust"] = np.repeat(self.victims(n), sizes)
        rows["merch"] = np.where(is_follow, np.repeat(big_merch, sizes), np.repeat(test_merch, sizes))
        rows["chan"], rows["entry"] = ECOM, CNP
        rows["dev"] = np.repeat(self.fraud_device(n), sizes)
        rows["ip"] = np.repeat(self.fraud_ip(n, 0.5), sizes)
        small = rng.integers(p.ct_cents[0], p.ct_cents[1] + 1, len(pos))
        rows["cents"] = np.where(is_follow, self.usd(*p.ct_follow_up_usd, len(pos)), small)
        return rows

    def velocity_attack(self, n: int) -> np.ndarray:
        p, rng, world = PARAMS, self.rng, self.world
        sizes = rng.integers(p.vel_size[0], p.vel_size[1] + 1, n)
        pos = position_in_session(sizes)
        online = np.repeat(rng.random(n) < 0.5, sizes)
        victims = self.victims(n)
        # Cloned cards are cashed out where the ring operates: often the victim's own city.
        city = np.where(
            rng.random(n) < p.ring_home_share, world.home[victims], rng.integers(0, len(CITIES), n)
        )
        # Rotating categories guarantees a different merchant for every event of an attack.
        first = np.repeat(rng.integers(0, 4, n), sizes)
        cat = np.where(online, ONLINE_CASHOUT[(first + pos) % 4], STORE_CASHOUT[(first + pos) % 4])
        rows = empty_rows(len(pos))
        rows["t"] = np.repeat(self.times(n, US_PER_HOUR), sizes) + session_offsets(sizes, *p.vel_gap_us, rng)
        rows["cust"] = np.repeat(victims, sizes)
        rows["merch"] = world.pick_merchant(np.repeat(city, sizes), cat, rng)
        atm = cat == CAT["atm_cash"]
        rows["chan"] = np.where(online, ECOM, np.where(atm, ATM, POS))
        rows["entry"] = np.where(online, CNP, MAGSTRIPE)
        rows["dev"] = np.where(online, np.repeat(self.fraud_device(n), sizes), -1)
        rows["ip"] = np.where(online, np.repeat(self.fraud_ip(n, 0.4), sizes), -1)
        cents = self.usd(*p.vel_usd, len(pos))
        rows["cents"] = np.where(atm, np.maximum(2000, cents // 2000 * 2000), cents)
        return rows

    def impossible_travel(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(genuine anchor purchases at home, fraud rows far away); anchors are legitimate."""
        p, rng, world = PARAMS, self.rng, self.world
        # Victims who stay home all run: an anchor "at home" during a trip would itself be
        # an impossible journey, made by a legitimate row.
        stay = self.victims_pool[world.trip_dep_us[self.victims_pool] == np.iinfo(np.int64).max]
        victims = rng.choice(stay if len(stay) else self.victims_pool, n).astype(np.int32)
        home = world.home[victims]
        candidates = rng.integers(0, len(CITIES), (n, 8))
        dist = haversine_km(world.city_lat[home][:, None], world.city_lon[home][:, None],
                            world.city_lat[candidates], world.city_lon[candidates])  # fmt: skip
        far = dist > p.travel_min_km
        pick = np.where(far.any(axis=1), far.argmax(axis=1), 0)
        dest = np.where(far.any(axis=1), candidates[np.arange(n), pick], len(CITIES) - 1)
        km = haversine_km(
            world.city_lat[home], world.city_lon[home], world.city_lat[dest], world.city_lon[dest]
        )
        max_gap = np.minimum(p.travel_gap_us[1], km / p.travel_min_speed_kmh * US_PER_HOUR).astype(np.int64)
        gap = rng.integers(p.travel_gap_us[0], np.maximum(p.travel_gap_us[0] + 1, max_gap))

        anchors = empty_rows(n)
        anchors["t"], anchors["cust"] = self.times(n, 6 * US_PER_HOUR), victims
        anchors["merch"] = world.pick_merchant(
            home, rng.choice([CAT["grocery"], CAT["restaurant"], CAT["fuel"]], n), rng
        )
        anchors["chan"], anchors["entry"] = POS, CHIP
        anchors["cents"] = np.round(40 * world.spend[victims] * rng.lognormal(0, 0.5, n) * 100).astype(
            np.int64
        )

        sizes = 1 + rng.integers(p.travel_extra[0], p.travel_extra[1] + 1, n)
        later = session_offsets(sizes, 5 * US_PER_MINUTE, 40 * US_PER_MINUTE, rng)
        cat = rng.choice(STORE_CASHOUT, len(later))
        rows = empty_rows(len(later))
        rows["t"] = np.repeat(anchors["t"] + gap, sizes) + later
        rows["cust"] = np.repeat(victims, sizes)
        rows["merch"] = world.pick_merchant(np.repeat(dest, sizes), cat, rng)
        rows["chan"] = np.where(cat == CAT["atm_cash"], ATM, POS)
        rows["entry"] = MAGSTRIPE
        rows["cents"] = self.cashout_cents(cat)
        return anchors, rows

    def cashout_cents(self, cat: np.ndarray) -> np.ndarray:
        """A cloned card's in-store cash-out: goods worth what the fraudster wants, ATM cash in $20s."""
        amount = PARAMS.travel_median_usd * self.rng.lognormal(0, 0.5, len(cat))
        atm_cents = np.maximum(20, np.round(amount / 20) * 20) * 100
        return np.round(np.where(cat == CAT["atm_cash"], atm_cents, amount * 100)).astype(np.int64)

    def shop_hours(self, after_us: np.ndarray, city: np.ndarray) -> np.ndarray:
        """A time in ``city``'s shop hours, on the local day of ``after_us`` or the next, not before it."""
        offset = self.world.city_offset_us[city]
        lo, hi = PARAMS.mc_shop_hours
        day = (after_us + offset) // US_PER_DAY * US_PER_DAY - offset
        t = day + self.rng.integers(lo * US_PER_HOUR, hi * US_PER_HOUR, len(after_us))
        return np.where(t < after_us, t + US_PER_DAY, t)

    def synthetic_identity(self, n: int) -> np.ndarray:
        """Identities ``n_real..n_real+n-1`` of the world: all their activity is fraud."""
        p, rng, world = PARAMS, self.rng, self.world
        first = world.n_real + self.synthetic_used
        who = np.arange(first, first + n, dtype=np.int32)
        self.synthetic_used += n
        window = self.end_us - self.start_us
        span = np.minimum(rng.integers(*p.syn_warmup_days, n) * US_PER_DAY, int(window * 0.8))
        # The cash-out falls in the planner's span (a drift segment) and after the warm-up.
        earliest = np.maximum(self.span[0], self.start_us + span)
        room = np.maximum(self.span[1] - earliest, 0)
        cashout_at = earliest + (rng.random(n) * room).astype(np.int64)
        warm = rng.integers(p.syn_warmup[0], p.syn_warmup[1] + 1, n)
        cash = rng.integers(p.syn_cashout[0], p.syn_cashout[1] + 1, n)
        sizes = warm + cash
        pos = position_in_session(sizes)
        is_cash = pos >= np.repeat(warm, sizes)
        cust = np.repeat(who, sizes)
        spread = (rng.random(len(pos)) * np.repeat(span - 2 * US_PER_HOUR, sizes)).astype(np.int64)
        cash_offsets = session_offsets(sizes, 3 * US_PER_MINUTE, 40 * US_PER_MINUTE, rng)
        start = np.repeat(cashout_at - span, sizes)
        t = np.where(is_cash, np.repeat(cashout_at, sizes) + cash_offsets, start + spread)
        warm_cat = rng.choice(
            [CAT["grocery"], CAT["fast_food"], CAT["fuel"], CAT["online_marketplace"]], len(pos)
        )
        cat = np.where(is_cash, rng.choice(STORE_CASHOUT, len(pos)), warm_cat)
        rows = empty_rows(len(pos))
        rows["t"], rows["cust"] = t, cust
        rows["merch"] = world.pick_merchant(world.home[cust], cat, rng)
        online = cat == CAT["online_marketplace"]
        rows["chan"] = np.where(online, ECOM, np.where(cat == CAT["atm_cash"], ATM, POS))
        rows["entry"] = np.where(online, CNP, CHIP)
        rows["dev"] = np.where(online, 3 * cust, -1)
        rows["ip"] = np.where(online, 2 * cust, -1)
        warm_cents = np.round(30 * rng.lognormal(0, 0.5, len(pos)) * 100)
        cash_cents = np.round(rng.uniform(*p.syn_cashout_usd, len(pos)) * 100)
        cash_cents = np.where(cat == CAT["atm_cash"], rng.integers(20, 41, len(pos)) * 2_000, cash_cents)
        rows["cents"] = np.where(is_cash, cash_cents, warm_cents).astype(np.int64)
        return rows

    def merchant_compromise(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(genuine purchases at breached merchants during their windows, the frauds that follow).

        Per incident: one merchant (a till or pump in a victim's home city, or a web shop) is
        breached for a window of days; the victims shop there as they always do (those visits
        are legitimate, and the only thing the victims share). Days after the window a ring
        spends the stolen data. A breach yields card data, not the owners' habits, so every
        fraud is the ring's, not a copy of the card's spending, at the ring's times: back at
        the breached merchant (the one place the ring knows; a counterfeit card, so magstripe,
        at a till or pump) for a shop's ordinary amount or more; online from the ring's few
        devices at web shops whose goods resell; or, from a till's or pump's track data,
        counterfeit cards swiped (magstripe) in the ring's own city - the victims' city or any
        other, as in velocity attacks - at its few cash-out stores (electronics, jewellery,
        gift cards, ATM cash), many cards per trip, during shop hours. A web shop's breach
        yields no track data, so all its frauds are online.
        """
        p, rng, world = PARAMS, self.rng, self.world
        visits, frauds = [empty_rows()], [empty_rows()]
        # A run shorter than a whole incident gets a compressed one: every archetype is present.
        tail_us = int(p.mc_delay_days[1] * US_PER_DAY) + 4 * US_PER_DAY
        scale = min(1.0, (self.end_us - self.start_us) / (p.mc_window_days[1] * US_PER_DAY + tail_us))
        for _ in range(n):
            days = int(rng.integers(p.mc_window_days[0], p.mc_window_days[1] + 1))
            window_us = max(US_PER_HOUR, int(days * US_PER_DAY * scale))
            # Any time up to a day after the window fits: frauds past the run's end are cut off
            # (as in any extract of real data), so the last days get their share of them.
            begin = int(self.times(1, window_us + int(US_PER_DAY * scale))[0])
            city = world.home[self.victims(1)]
            merchant = int(world.pick_merchant(city, rng.choice(COMPROMISED, 1), rng)[0])
            cat = int(world.merch_cat[merchant])
            web_shop = bool(_ONLINE_ONLY[cat])
            pool = self.victims_pool
            if not web_shop:
                pool = pool[world.home[pool] == city[0]]
            k = min(len(pool), int(rng.integers(p.mc_victims[0], p.mc_victims[1] + 1)))
            victims = rng.choice(pool, k, replace=False).astype(np.int32)
            visit_day = (begin + rng.integers(0, window_us, k)) // US_PER_DAY * US_PER_DAY
            visit_t = np.clip(local_times(world, victims, visit_day, rng), begin, begin + window_us)
            # Only customers at home shop at a local till (no visit from the far end of a trip).
            away = (visit_t >= world.trip_dep_us[victims]) & (
                visit_t < world.trip_ret_us[victims] + world.trip_flight_us[victims]
            )
            victims, visit_t = victims[~away], visit_t[~away]
            k = len(victims)

            visit = empty_rows(k)
            visit["t"], visit["cust"], visit["merch"] = visit_t, victims, merchant
            visit["chan"] = ECOM if web_shop else POS
            visit["entry"] = card_present_entry(np.full(k, cat), visit["chan"], rng)
            visit["cents"] = amounts_cents(world, victims, np.full(k, cat), rng)
            dev, ip = own_device_and_ip(world, victims, visit_t, rng)
            visit["dev"], visit["ip"] = (dev, ip) if web_shop else (-1, -1)
            visits.append(visit)

            sizes = rng.integers(p.mc_rows[0], p.mc_rows[1] + 1, k)
            m = int(sizes.sum())
            delay = (rng.uniform(*p.mc_delay_days, k) * US_PER_DAY * scale).astype(np.int64)
            gaps = session_offsets(sizes, 6 * US_PER_HOUR, 3 * US_PER_DAY, rng)
            planned = np.repeat(begin + window_us + delay, sizes) + (gaps * scale).astype(np.int64)
            here = rng.random(m) < p.mc_at_merchant_share
            online = (here & web_shop) | (~here & (web_shop | (rng.random(m) < p.mc_online_share)))
            store = ~here & ~online

            ring_city = city if rng.random() < p.ring_home_share else rng.integers(0, len(CITIES), 1)
            n_stores = int(rng.integers(p.mc_ring_stores[0], p.mc_ring_stores[1] + 1))
            store_cat = rng.choice(STORE_CASHOUT, n_stores)
            stores = world.pick_merchant(np.repeat(ring_city, n_stores), store_cat, rng)
            n_outings = int(rng.integers(p.mc_outings[0], p.mc_outings[1] + 1))
            out_after = begin + window_us + (rng.uniform(*p.mc_delay_days, n_outings) * US_PER_DAY * scale)
            outings = self.shop_hours(out_after.astype(np.int64), np.repeat(ring_city, n_outings))
            slot = rng.integers(0, n_stores, m)
            trip_t = outings[rng.integers(0, n_outings, m)] + rng.integers(0, p.mc_outing_us, m)
            breach_t = self.shop_hours(planned, np.repeat(city, m))
            row_cat = np.where(here, cat, np.where(online, rng.choice(MC_ONLINE, m), store_cat[slot]))

            rows = empty_rows(m)
            rows["cust"] = np.repeat(victims, sizes)
            rows["t"] = np.where(store, trip_t, np.where(here & ~web_shop, breach_t, planned))
            rows["merch"] = np.where(
                here,
                merchant,
                np.where(online, world.pick_merchant(np.repeat(city, m), row_cat, rng), stores[slot]),
            )
            atm = row_cat == CAT["atm_cash"]
            rows["chan"] = np.where(online, ECOM, np.where(atm, ATM, POS))
            rows["entry"] = np.where(online, card_present_entry(row_cat, rows["chan"], rng), MAGSTRIPE)
            factor = rng.uniform(*p.mc_amount_factor, m)
            shop_cents = np.round(amounts_cents(world, rows["cust"], row_cat, rng, spend=1.0) * factor)
            rows["cents"] = np.where(store, self.cashout_cents(row_cat), shop_cents).astype(np.int64)
            devices = self.fraud_device(int(rng.integers(p.mc_ring_devices[0], p.mc_ring_devices[1] + 1)))
            pick = rng.integers(0, len(devices), m)
            rows["dev"] = np.where(online, devices[pick], -1)
            rows["ip"] = np.where(online, self.fraud_ip(len(devices), 0.3)[pick], -1)
            frauds.append(rows[rows["t"] < self.end_us])
        return np.concatenate(visits), np.concatenate(frauds)


def synthetic_accounts_opened(world: World, rows: np.ndarray, rng: np.random.Generator) -> None:
    """Back-date each synthetic identity's account to shortly before its first purchase."""
    first = np.full(world.n_customers, np.iinfo(np.int64).max)
    np.minimum.at(first, rows["cust"], rows["t"])
    who = np.arange(world.n_real, world.n_customers)
    lead = rng.integers(PARAMS.syn_opened_before_days[0], PARAMS.syn_opened_before_days[1] + 1, len(who))
    world.created_day[who] = (first[who] // US_PER_DAY - lead).astype(np.int32)


def plan_fraud(
    world: World, config: SimulationConfig, segments: Segments, rng: np.random.Generator
) -> np.ndarray:
    """All fraud incidents (plus the genuine rows they need), sorted by time.

    The genuine rows are the anchors of impossible travel and the victims' visits to a
    breached merchant; ``segments`` (from :func:`segment_counts`) says how many incidents of
    each archetype start in which span.
    """
    if not any(n for spans in segments.values() for _, _, n in spans):
        return empty_rows()
    planner = _Planner(world, config, rng)
    methods = (
        (ATO, planner.account_takeover),
        (CARD_TESTING, planner.card_testing),
        (VELOCITY, planner.velocity_attack),
        (SYNTHETIC, planner.synthetic_identity),
        (TRAVEL, planner.impossible_travel),
        (MERCHANT, planner.merchant_compromise),
    )
    genuine, frauds = [empty_rows()], []
    for ftype, method in methods:
        for from_us, to_us, n in segments[ftype]:
            planner.span = (from_us, to_us)
            planned = method(n)
            if isinstance(planned, tuple):
                planned[0]["ftype"] = NO_FRAUD
                genuine.append(planned[0])
                planned = planned[1]
            planned["ftype"] = ftype
            frauds.append(planned)
    synthetic = [rows for rows in frauds if len(rows) and rows["ftype"][0] == SYNTHETIC]
    synthetic_accounts_opened(world, np.concatenate([empty_rows(), *synthetic]), rng)
    plan = np.concatenate([*genuine, *frauds])
    return plan[np.argsort(plan["t"], kind="stable")]
