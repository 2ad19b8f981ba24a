"""Topic settings: on AWS the aggregator's replayed topics keep what the features look back
over and the profile table is compacted; the embedded broker gets none (Tansu has no topic
settings). Creation with settings is exercised against MSK only (docs/deploy-aws.md checks)."""

from __future__ import annotations

from fraudstack.features.definitions import LOOKBACK, MICROS_PER_SECOND
from fraudstack.kafka.topics import topic_configs
from tests.support.stack import RunningStack


def test_aws_keeps_the_replayed_topics_past_the_lookback_and_compacts_the_profiles(
    stack: RunningStack,
) -> None:
    aws = stack.settings.model_copy(update={"target": "aws"})
    configs = topic_configs(aws)
    lookback_ms = LOOKBACK // MICROS_PER_SECOND * 1000
    for topic in (aws.topic_entity_events, aws.topic_labels, aws.topic_shadow_scores):
        assert int(configs[topic]["retention.ms"]) > lookback_ms
    assert configs[aws.topic_entity_profiles] == {"cleanup.policy": "compact"}
    assert aws.topic_transactions not in configs  # the broker's default is enough for the rest


def test_the_embedded_broker_gets_no_topic_settings(stack: RunningStack) -> None:
    assert topic_configs(stack.settings) == {}
