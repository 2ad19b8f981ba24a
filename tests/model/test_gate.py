"""The promotion gate and the drift measure it uses: pure functions, no stack."""

from __future__ import annotations

import numpy as np
import pytest

from fraudstack.model.drift import BROKEN_PSI, CALENDAR_FEATURES, Histogram, measure, status
from fraudstack.model.gate import GatePolicy, decide
from fraudstack.model.training import TrainingResult


def _window(trained: TrainingResult) -> tuple[np.ndarray, np.ndarray]:
    frame = trained.test_frame
    return frame["is_fraud"].to_numpy(dtype=bool), frame["amount"].astype(float).to_numpy()


def test_gate_refuses_a_worse_challenger(trained: TrainingResult) -> None:
    labels, amount = _window(trained)
    test = trained.features[trained.split.test]
    champion = trained.model.score(test)
    # The same trees cut down to one: clearly worse on the same window.
    challenger = trained.model.booster[:1].inplace_predict(test.to_numpy(dtype=np.float32))
    decision = decide(labels, amount, np.asarray(challenger), champion, {})
    assert not decision.promote
    assert decision.reason.startswith("refused: AP")
    assert decision.challenger["average_precision"] < decision.champion["average_precision"]  # type: ignore[index]
    reverse = decide(labels, amount, champion, np.asarray(challenger), {})
    assert reverse.promote and reverse.reason.startswith("promoted: AP")


def test_margins_tolerate_noise_and_no_more(trained: TrainingResult) -> None:
    labels, amount = _window(trained)
    scores = trained.test_scores
    assert decide(labels, amount, scores, scores, {}).promote  # equal passes
    # Flip the top-scored fraud to the bottom: a little worse on both metrics.
    worse = scores.copy()
    worse[np.flatnonzero(labels)[np.argmax(scores[labels])]] = 0.0
    strict = decide(labels, amount, worse, scores, {}, GatePolicy(ap_margin=0.0, recall_margin=0.0))
    lenient = decide(labels, amount, worse, scores, {}, GatePolicy(ap_margin=0.5, recall_margin=0.5))
    assert (strict.promote, lenient.promote) == (False, True)


def test_broken_drift_refuses_even_a_better_challenger(trained: TrainingResult) -> None:
    labels, amount = _window(trained)
    scores = trained.test_scores
    decision = decide(labels, amount, scores, scores * 0.5 + 0.25, {"amount": 0.01, "n_1h": 3.2})
    assert not decision.promote
    assert decision.broken_features == {"n_1h": 3.2}
    assert "broken drift" in decision.reason and "n_1h" in decision.reason
    first = decide(labels, amount, scores, None, {})
    assert first.promote and first.champion is None


def test_gate_needs_both_classes(trained: TrainingResult) -> None:
    _, amount = _window(trained)
    with pytest.raises(ValueError, match="both"):
        decide(np.zeros(len(amount), dtype=bool), amount, trained.test_scores, None, {})


def test_psi_is_zero_on_the_reference_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(0)
    values = rng.lognormal(3, 1, 50_000)
    hist = Histogram.of(values, [i / 10 for i in range(1, 10)])
    assert len(hist.shares) == len(hist.edges) + 2 and sum(hist.shares) == pytest.approx(1.0)
    assert hist.psi(values) == pytest.approx(0.0, abs=1e-12)
    assert hist.psi(rng.lognormal(3, 1, 20_000)) < 0.01
    assert 0.1 < hist.psi(values * 1.5) < BROKEN_PSI < hist.psi(values * 3)
    gone = np.full(1000, np.nan)  # a feature whose input went missing
    assert status(hist.psi(gone)) == "broken"


def test_reference_is_in_the_manifest_without_calendar_features(trained: TrainingResult) -> None:
    reference = trained.model.manifest["reference"]
    assert set(reference["features"]) == set(trained.model.features) - CALENDAR_FEATURES
    drift = measure(reference, trained.features[trained.split.val], None)
    assert drift.score is None and max(drift.features.values()) == pytest.approx(0.0, abs=1e-12)
    test = measure(reference, trained.features[trained.split.test], trained.test_scores)
    assert test.score == pytest.approx(0.0, abs=1e-12) and not test.broken
