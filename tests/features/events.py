"""A small hand-made event stream that exercises every corner of the feature definitions.

Why not only the simulator: these events deliberately contain what realistic data rarely
does - exact timestamp ties on one card, bursts, gaps longer than every window, card-present
rows without device or IP, repeated and new devices, a card busier than the history cap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

START = datetime(2025, 3, 1, tzinfo=UTC)


def hand_made_events(n: int = 3000, cards: int = 12, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` events in time order (ties included) over ``cards`` cards and ~45 days."""
    rng = np.random.default_rng(seed)
    gap_seconds = [0, 1, 30, 600, 3600, 86_400, 9 * 86_400]
    gaps = rng.choice(gap_seconds, size=n, p=[0.05, 0.1, 0.3, 0.25, 0.2, 0.09, 0.01])
    seconds = np.cumsum(gaps) // cards
    micros = rng.integers(0, 3, n)  # 0..2 us: exact ties between cards and on one card
    times = [
        START + timedelta(seconds=int(s), microseconds=int(u)) for s, u in zip(seconds, micros, strict=True)
    ]
    events = []
    for i, when in enumerate(sorted(times)):
        card = int(rng.integers(cards))
        ecom = rng.random() < 0.5
        events.append(
            {
                "transaction_id": f"tx{i:06d}",
                "event_time": when,
                "customer_id": f"cu{card}",
                "customer_account_created": date(2024, 1, 1) + timedelta(days=card * 20),
                "card_id": f"ca{card}",
                "merchant_id": f"m{int(rng.integers(40))}",
                "merchant_category_code": str(rng.choice(["5411", "7995", "5732", "5812"])),
                "amount": Decimal(str(round(float(rng.lognormal(3, 1.2)), 2) + 0.01)),
                "channel": "ecom" if ecom else str(rng.choice(["pos", "atm"])),
                "entry_mode": "card_not_present" if ecom else "chip",
                "device_id": f"d{card}_{int(rng.integers(3))}" if ecom else None,
                "ip_address": f"10.0.{card}.{int(rng.integers(4))}" if ecom else None,
                "ip_is_vpn": bool(rng.random() < 0.1) if ecom else None,
                "lat": float(rng.uniform(-60, 60)),
                "lon": float(rng.uniform(-170, 170)),
                "country": str(rng.choice(["US", "GB", "FR"])),
                "is_fraud": False,
                "fraud_type": None,
            }
        )
    return events


def as_frame(events: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(events)
