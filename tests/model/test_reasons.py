"""Reason codes: exact TreeSHAP decomposition, only for flagged rows, readable."""

from __future__ import annotations

import numpy as np

from fraudstack.features import FEATURE_NAMES
from fraudstack.model.training import TrainingResult


def test_contributions_and_bias_sum_to_the_raw_margin(trained: TrainingResult) -> None:
    model = trained.model
    features = trained.features[trained.split.test]
    contribs = model.contributions(features)
    assert contribs.shape == (len(features), len(model.features) + 1)
    np.testing.assert_allclose(contribs.sum(axis=1), model.margin(features), rtol=1e-5, atol=1e-4)


def test_reasons_for_every_flagged_row_only(trained: TrainingResult) -> None:
    model = trained.model
    features = trained.features[trained.split.test]
    scored = model.score_and_explain(features, top_k=3)
    flagged = scored[scored["flagged"]]
    assert len(flagged) > 0
    assert scored.loc[~scored["flagged"], "reasons"].isna().all()
    assert all(0 < len(reasons) <= 3 for reasons in flagged["reasons"])
    contribs = model.contributions(features.loc[flagged.index])
    for row, reasons in enumerate(flagged["reasons"]):
        values = [r.contribution for r in reasons]
        assert values == sorted(values, reverse=True) and values[0] > 0
        # The top reason is the largest feature contribution of that row.
        assert np.isclose(values[0], contribs[row, :-1].max())
        first = reasons[0]
        assert first.feature in model.features
        assert first.text().startswith(f"{first.feature} = ")
        assert set(first.as_dict()) == {"feature", "value", "contribution"}


def test_online_rows_score_like_frames(trained: TrainingResult) -> None:
    """The scorer passes rows of OnlineFeatures; selecting online_columns gives the same scores."""
    model = trained.model
    frame = trained.features[trained.split.test].head(200)
    full = frame.reindex(columns=list(FEATURE_NAMES)).to_numpy()
    np.testing.assert_array_equal(model.score(full[:, model.online_columns]), model.score(frame))
