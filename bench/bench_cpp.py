"""Common point of purchase (CPP): does a card's exposure to suspect merchants find merchant compromise?

Why a bench and not a feature: issue 18 asks for merchant compromise AP >= 0.6 on the
simulator; the entity profiles reach 0.39 there. Fraud teams find breached merchants by CPP
analysis, so this measures, before anything is built into both feature forms and the
scorer, what a CPP feature adds to the trained model. It computes the batch form only
(numpy, here) and appends it to the default features of :func:`fraudstack.model.training.train`.

The feature, per transaction of card ``c`` at time ``t``:

* a visit (one of ``c``'s transactions at merchant ``m``, at ``v``) is *followed by fraud*
  from the earliest ``known_at`` of a fraud of ``c`` strictly after ``v``;
* merchant ``m`` at time ``t``: ``n`` = cards that used it in ``[t - 30 d, t)``, ``k`` = those
  of them whose latest visit there is followed by fraud known before ``t`` (no label known
  at or after ``t`` counts);
* the card's exposure: the highest merchant score over the merchants ``c`` used in
  ``[t - 30 d, t)`` (``cpp_rate`` = k / n with n >= 5, a second score per ``--score``, and the
  highest ``k``).

``--score smoothed`` is (k + 0.4) / (n + 20); ``binomial`` is -log P(X >= k) for X ~
Binomial(n, p0), p0 the pooled k / n (a lift over the base rate of defrauded visitors).
``--oracle`` makes every label known a microsecond after its transaction: the upper bound
of the idea without label delay.

    .venv/bin/python bench/bench_cpp.py [--seed 7] [--score smoothed|binomial] [--oracle]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import binom

import fraudstack.model.training as training
from fraudstack.features.batch import (
    _NEVER,
    _changed,
    _fraud_known_at,
    _group_starts,
    _search_left,
    event_micros,
)
from fraudstack.features.definitions import FEATURE_INDEX, LOOKBACK
from fraudstack.model.data import simulated
from fraudstack.model.training import TrainConfig, train

CPP_FEATURES = ("cpp_rate", "cpp_score", "cpp_k")
#: A merchant with fewer cards in the window gives no rate (too few to say anything).
MIN_CARDS = 5


def followed_by_fraud(card: np.ndarray, t: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Per row: the earliest ``known`` over the card's rows strictly later in time (_NEVER if none)."""
    order = np.lexsort((t, card))
    c, tt, kn = card[order], t[order], known[order]
    n = len(c)
    group = np.cumsum(_changed(c[::-1]))
    suffix_min = pd.Series(kn[::-1]).groupby(group).cummin().to_numpy()[::-1]
    starts = np.flatnonzero(_changed(c) | _changed(tt))
    following = np.concatenate([starts, [n]])[np.searchsorted(starts, np.arange(n), side="right")]
    later = following < n
    later[later] = c[following[later]] == c[later]
    flag = np.where(later, suffix_min[np.minimum(following, n - 1)], _NEVER)
    out = np.empty(n, dtype=np.int64)
    out[order] = flag
    return out


class Counter:
    """A per-merchant step function from +1/-1 events: the sum of events strictly before a time."""

    def __init__(self, merchant: np.ndarray, begin: np.ndarray, end: np.ndarray) -> None:
        keys = np.concatenate([merchant, merchant])
        times = np.concatenate([begin, end])
        steps = np.concatenate([np.ones(len(begin), np.int64), -np.ones(len(end), np.int64)])
        order = np.lexsort((times, keys))
        self.keys, self.times = keys[order], times[order]
        self.cum = np.concatenate([[0], np.cumsum(steps[order])])

    def at(self, merchant: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.asarray(
            self.cum[_search_left(self.keys, self.times, t, merchant)]
            - self.cum[np.searchsorted(self.keys, merchant, side="left")]
        )


def cpp_features(
    frame: pd.DataFrame, labels: pd.DataFrame, score: Literal["smoothed", "binomial"]
) -> pd.DataFrame:
    """The card's CPP exposure per row of ``frame`` (see the module docstring), in its index."""
    t = event_micros(frame["event_time"])
    card = pd.factorize(frame["card_id"])[0].astype(np.int64)
    merchant = pd.factorize(frame["merchant_id"])[0].astype(np.int64)
    flag = followed_by_fraud(card, t, _fraud_known_at(frame, labels))
    # A card counts at a merchant from its visit until its next visit there or 30 days on.
    order = np.lexsort((t, card, merchant))
    m, c, v, f = merchant[order], card[order], t[order], flag[order]
    same_next = np.zeros(len(m), dtype=bool)
    same_next[:-1] = (m[1:] == m[:-1]) & (c[1:] == c[:-1])
    end = np.minimum(v + LOOKBACK, np.where(same_next, np.roll(v, -1), np.iinfo(np.int64).max))
    visited = v < end
    cards = Counter(m[visited], v[visited], end[visited])
    defrauded_from = np.maximum(v, f)
    defrauded = (f < _NEVER) & (defrauded_from < end)
    frauds = Counter(m[defrauded], defrauded_from[defrauded], end[defrauded])

    # Every (transaction, earlier transaction of its card within 30 days) pair.
    order = np.lexsort((t, card))
    c, tt, mm = card[order], t[order], merchant[order]
    past_end = _group_starts(_changed(c) | _changed(tt))
    past_start = _search_left(c, tt, tt - LOOKBACK)
    count = past_end - past_start
    query = np.repeat(np.arange(len(c)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    earlier = np.repeat(past_start, count) + offset
    n = cards.at(mm[earlier], tt[query]).astype(float)
    k = frauds.at(mm[earlier], tt[query]).astype(float)
    rate = np.where(n >= MIN_CARDS, k / np.maximum(n, 1), 0.0)
    if score == "smoothed":
        second = (k + 0.4) / (n + 20)
    else:
        p0 = float(k.sum() / max(n.sum(), 1))
        second = np.where(n >= MIN_CARDS, -binom.logsf(k - 1, n, p0), 0.0)
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]]) if len(query) else np.array([], np.int64)
    out: dict[str, np.ndarray] = {}
    for name, values in zip(CPP_FEATURES, (rate, second, k), strict=True):
        highest = np.full(len(c), np.nan)
        highest[query[starts]] = np.maximum.reduceat(values, starts)
        out[name] = highest
    inverse = np.empty(len(c), dtype=np.int64)
    inverse[order] = np.arange(len(c))
    return pd.DataFrame({name: values[inverse] for name, values in out.items()}, index=frame.index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--test-days", type=int, default=5)
    parser.add_argument("--val-days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--score", choices=("smoothed", "binomial"), default="smoothed")
    parser.add_argument("--oracle", action="store_true", help="every label known 1 µs after its transaction")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    dataset = simulated(customers=args.customers, days=args.days, fraud_rate=0.01, seed=args.seed)
    frame = dataset.frame
    labels = dataset.labels
    if args.oracle or labels is None:
        labels = pd.DataFrame(
            {
                "transaction_id": frame["transaction_id"].to_numpy(),
                "is_fraud": frame["is_fraud"].astype(bool).to_numpy(),
                "known_at": pd.to_datetime(frame["event_time"], utc=True) + pd.Timedelta(microseconds=1),
            }
        )
    cpp_labels = labels
    profiles = training.compute_features

    def with_cpp(data: pd.DataFrame, known: pd.DataFrame | None = None) -> pd.DataFrame:
        started = time.process_time()
        extra = cpp_features(data, cpp_labels, args.score)
        print(f"CPP features: {time.process_time() - started:.1f} CPU s")
        return profiles(data, known).join(extra)

    for name in CPP_FEATURES:  # the model refuses names the code does not define
        FEATURE_INDEX.setdefault(name, len(FEATURE_INDEX))
    training.compute_features = with_cpp  # type: ignore[assignment]
    result = train(dataset, TrainConfig(test_days=args.test_days, val_days=args.val_days))
    test = result.evaluation["test"]
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"with profiles + CPP ({args.score}{', oracle labels' if args.oracle else ''}):")
    print(f"| overall | {test['average_precision']:.4f} ({test['frauds']}) |")
    for fraud_type, row in sorted(test["by_type"].items()):
        print(f"| {fraud_type} | {row['average_precision']:.4f} ({row['frauds']}) |")


if __name__ == "__main__":
    main()
