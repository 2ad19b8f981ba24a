"""Vectorised building blocks shared by the behaviour generators.

Why a compact integer row: generators only decide *which* customer, merchant, device and IP
a transaction involves, and when; every string of the event is looked up from the world at
the very end (:mod:`fraudstack.simulator.assemble`). That keeps the hot path in numpy and
lets strings be written as Arrow dictionaries instead of millions of Python objects.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR
NO_FRAUD = -1
NONE = -1  # no device / no IP (card-present)

ROW = np.dtype(
    [
        ("t", np.int64),  # event time, microseconds since the Unix epoch, UTC
        ("cust", np.int32),  # customer index == card index
        ("merch", np.int32),
        ("dev", np.int32),  # device index or NONE
        ("ip", np.int32),  # IP index or NONE
        ("chan", np.int8),  # catalog.CHANNELS
        ("entry", np.int8),  # catalog.ENTRY_MODES
        ("cents", np.int64),
        ("ftype", np.int8),  # index into schema.FRAUD_TYPES or NO_FRAUD
    ]
)


def empty_rows(n: int = 0) -> np.ndarray:
    rows = np.zeros(n, dtype=ROW)
    rows["dev"] = NONE
    rows["ip"] = NONE
    rows["ftype"] = NO_FRAUD
    return rows


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance; the yardstick for travel speed in archetypes and tests."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def cdf_table(weights: np.ndarray) -> np.ndarray:
    """Row-normalised cumulative weights, shifted by row number for :func:`sample_rows`."""
    cdf = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    cdf[:, -1] = 1.0
    return cdf + np.arange(len(weights))[:, None]


def sample_rows(shifted_cdf: np.ndarray, which: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one column index per element, each from the distribution in row ``which[i]``.

    One ``searchsorted`` over the flattened, row-shifted CDF replaces a Python loop over
    distributions (personas, hour profiles).
    """
    width = shifted_cdf.shape[1]
    u = rng.random(len(which)) * (1 - 1e-12) + which
    flat = np.searchsorted(shifted_cdf.ravel(), u, side="right")
    return (flat - which * width).clip(0, width - 1)


def session_offsets(
    sizes: np.ndarray, gap_lo_us: int, gap_hi_us: int, rng: np.random.Generator
) -> np.ndarray:
    """Offsets from each session's start for sessions of ``sizes`` events (first = 0).

    A segmented cumulative sum of random gaps: bursts of card testing, shopping sprees and
    in-app purchase runs all use it.
    """
    total = int(sizes.sum())
    gaps = rng.integers(gap_lo_us, gap_hi_us + 1, total)
    starts = np.cumsum(sizes) - sizes
    gaps[starts[sizes > 0]] = 0
    csum = np.cumsum(gaps)
    return csum - np.repeat(csum[starts[sizes > 0]], sizes[sizes > 0])


def position_in_session(sizes: np.ndarray) -> np.ndarray:
    """0, 1, ... within each session, for per-position choices (e.g. the last one)."""
    starts = np.cumsum(sizes) - sizes
    return np.arange(int(sizes.sum())) - np.repeat(starts, sizes)


_FOUR_DIGITS = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)


def fixed_width_strings(prefix: str, numbers: np.ndarray, digits: int) -> pa.Array:
    """``prefix`` + zero-padded decimal ``numbers`` as an Arrow string array, without Python objects.

    Four digits per step from a lookup table: transaction ids are built for every row.
    """
    n = len(numbers)
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    padded = -(-digits // 4) * 4
    buf = np.empty((n, len(head) + padded), dtype=np.uint8)
    buf[:, : len(head)] = head
    rest = numbers.astype(np.int64)
    for end in range(buf.shape[1], len(head), -4):
        buf[:, end - 4 : end] = _FOUR_DIGITS[rest % 10_000]
        rest = rest // 10_000
    buf = np.ascontiguousarray(buf[:, np.r_[0 : len(head), len(head) + padded - digits : buf.shape[1]]])
    width = buf.shape[1]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf))


def hex_strings(prefix: str, raw: np.ndarray) -> pa.Array:
    """``prefix`` + lowercase hex of each row of a ``uint8`` matrix (card tokens)."""
    n, nbytes = raw.shape
    alphabet = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    width = len(head) + 2 * nbytes
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:, : len(head)] = head
    buf[:, len(head) :: 2] = alphabet[raw >> 4]
    buf[:, len(head) + 1 :: 2] = alphabet[raw & 15]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf))
