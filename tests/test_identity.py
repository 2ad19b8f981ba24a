"""The one ARN builder the runtime and the provisioning code share."""

from __future__ import annotations

import pytest

from fraudstack.errors import StackError
from fraudstack.identity import Identity, caller_identity
from fraudstack.provisioning.base import DeployTarget
from fraudstack.provisioning.resources import SnsTopic
from fraudstack.settings import load_settings
from tests.support import free_port


def test_a_lambda_learns_the_topic_arn_from_its_own_arn() -> None:
    identity = Identity.from_arn("arn:aws-cn:lambda:cn-north-1:123456789012:function:alerts-handler")
    assert identity == Identity(account_id="123456789012", partition="aws-cn", region="cn-north-1")
    assert identity.topic_arn("alerts") == "arn:aws-cn:sns:cn-north-1:123456789012:alerts"


def test_the_runtime_and_the_deploy_name_the_same_topic() -> None:
    settings = load_settings(aws_region="eu-west-1")
    identity = Identity(account_id="123456789012", partition="aws", region=settings.aws_region)
    target = DeployTarget(settings=settings, account_id=identity.account_id, partition=identity.partition)
    topic = SnsTopic(logical_id="AlertsTopic", name=settings.sns_topic)
    assert target.resolve(topic.arn) == identity.topic_arn(settings.sns_topic)


def test_an_unreachable_target_is_one_line() -> None:
    settings = load_settings(aws_endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StackError, match=r"cannot reach http://127\.0\.0\.1:.*fraudstack stack up"):
        caller_identity(settings)
