"""The batch and online forms of the features, side by side: what the parity tests compare.

Shared by the card-feature and the entity-feature parity tests (tests/features).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudstack.features import FEATURE_NAMES, EntityProfiles, OnlineFeatures, definitions

#: Everything is integer arithmetic or the same float operations, except sin/cos in the distance.
RTOL = 1e-12
#: What the batch form gives without labels: every feature but the delayed-label ones.
UNLABELLED = [f.name for f in definitions.FEATURES if definitions.LABELS not in f.needs]


def online_frame(events: list[dict], deliveries: dict[int, list[dict]] | None = None) -> pd.DataFrame:
    """Both online forms over ``events``; ``deliveries[i]``: label events that arrive before event i."""
    online, profiles = OnlineFeatures(), EntityProfiles()
    rows = []
    for i, event in enumerate(events):
        for label in (deliveries or {}).get(i, []):
            profiles.label(label)
        rows.append(online.update(event) + profiles.update(event))
    return pd.DataFrame(rows, columns=list(FEATURE_NAMES))


def assert_same(batch: pd.DataFrame, online: pd.DataFrame) -> None:
    """Every column of ``batch`` (all features, or all but the delayed-label ones) equals ``online``'s."""
    assert list(batch.columns) in (list(FEATURE_NAMES), UNLABELLED)
    for name in batch.columns:
        np.testing.assert_allclose(
            batch[name].to_numpy(), online[name].to_numpy(), rtol=RTOL, equal_nan=True, err_msg=name
        )
