"""The sub-second streaming scorer behind ``fraudstack score``.

- :mod:`fraudstack.scoring.scorer` - the consumer-group loop: micro-batches, decisions,
  dead letters, at-least-once commits, rebalancing (records parsed by :mod:`fraudstack.wire`);
- :mod:`fraudstack.scoring.explain` - TreeSHAP reason codes on a worker thread;
- :mod:`fraudstack.scoring.deliveries` - which produced records the broker acknowledged, per checkpoint;
- :mod:`fraudstack.scoring.state` - per-partition feature state and its S3 snapshots;
- :mod:`fraudstack.scoring.decision_records` - the decision / alert format (the thresholds rule is
  :mod:`fraudstack.model.decision_rule`, shared with batch inference);
- :mod:`fraudstack.scoring.models` - hot reload when the registry's ``current`` pointer moves;
- :mod:`fraudstack.scoring.alert_publisher` - real-time SNS alerts.
"""

from fraudstack.model.decision_rule import DECISION_TYPES, Thresholds
from fraudstack.scoring.scorer import Scorer, ScorerError, ScorerStats

__all__ = ["DECISION_TYPES", "Scorer", "ScorerError", "ScorerStats", "Thresholds"]
