"""The resource declaration: complete, named by settings, and renderable as valid CloudFormation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fraudstack.resources import (
    FirehoseDeliveryStream,
    IamRole,
    Resource,
    Secret,
    SnsTopic,
    SqsQueue,
    declare,
    render_template,
    warehouse_secret_value,
)
from fraudstack.settings import Settings, load_settings

#: Settings fields that name an AWS resource of the pipeline; each must be declared.
#: (``kafka_storage_bucket`` is the broker's own storage, made by ``stack up``, not the pipeline.)
RESOURCE_NAME_FIELDS = (
    "bucket",
    "artifacts_bucket",
    "kinesis_stream",
    "firehose_stream",
    "sns_topic",
    "ops_topic",
    "alert_sender",
    "warehouse_secret_name",
)
LOCAL_ONLY_FIELDS = ("alerts_tap_queue", "ops_tap_queue")


def _settings(**overrides: Any) -> Settings:
    return load_settings(warehouse_password="not-a-real-password", **overrides)


def _by_name(resources: list[Resource]) -> dict[str, Resource]:
    return {r.name: r for r in resources}


def test_every_settings_resource_name_is_declared() -> None:
    settings = _settings()
    names = _by_name(declare(settings))
    for field in RESOURCE_NAME_FIELDS + LOCAL_ONLY_FIELDS:
        assert getattr(settings, field) in names, field


def test_names_follow_the_settings() -> None:
    settings = _settings(bucket="other-lake", kinesis_stream="other-stream", kinesis_shards=3)
    names = _by_name(declare(settings))
    assert "other-lake" in names and "fraudstack-lake" not in names
    assert names["other-stream"].shards == 3  # type: ignore[attr-defined]


def test_aws_target_has_no_test_taps() -> None:
    resources = declare(_settings(target="aws"))
    assert not [r for r in resources if isinstance(r, SqsQueue)]
    names = _by_name(resources)
    for field in RESOURCE_NAME_FIELDS:
        assert getattr(load_settings(), field) in names, field


def test_topics_have_email_recipients_and_local_taps() -> None:
    settings = _settings(
        alert_recipients=["a@example.com", "b@example.com"], ops_recipients=["ops@example.com"]
    )
    topics = {r.name: r for r in declare(settings) if isinstance(r, SnsTopic)}
    alerts = topics[settings.sns_topic]
    assert [s.endpoint for s in alerts.subscriptions if s.protocol == "email"] == [
        "a@example.com",
        "b@example.com",
    ]
    assert [s.protocol for s in alerts.subscriptions].count("sqs") == 1
    assert [s.endpoint for s in topics[settings.ops_topic].subscriptions if s.protocol == "email"] == [
        "ops@example.com"
    ]


def test_firehose_reads_kinesis_into_raw_prefix_with_buffering_from_settings() -> None:
    settings = _settings(firehose_buffer_mb=7, firehose_buffer_seconds=30)
    (delivery,) = [r for r in declare(settings) if isinstance(r, FirehoseDeliveryStream)]
    assert delivery.source.name == settings.kinesis_stream
    assert delivery.bucket.name == settings.bucket
    assert (delivery.prefix, delivery.error_prefix) == ("raw/", "errors/")
    assert (delivery.buffer_mb, delivery.buffer_seconds) == (7, 30)


def test_dependencies_come_first() -> None:
    resources = declare(_settings())
    position = {id(r): i for i, r in enumerate(resources)}
    for resource in resources:
        if isinstance(resource, FirehoseDeliveryStream):
            for needed in (resource.source, resource.bucket, resource.role):
                assert position[id(needed)] < position[id(resource)]


def test_warehouse_secret_value_parses_the_dsn() -> None:
    settings = load_settings(warehouse_dsn="postgresql://u%40x:p%2Fw@db.internal:6543/wh")
    value = warehouse_secret_value(settings)
    assert value is not None
    assert json.loads(value.get_secret_value()) == {
        "engine": "postgres",
        "host": "db.internal",
        "port": 6543,
        "username": "u@x",
        "password": "p/w",
        "dbname": "wh",
        "dsn": "postgresql://u%40x:p%2Fw@db.internal:6543/wh",
    }


def test_secret_without_a_known_password_has_no_value(tmp_path: Any) -> None:
    settings = load_settings(state_dir=tmp_path)
    (secret,) = [r for r in declare(settings) if isinstance(r, Secret)]
    assert secret.value is None


# --- rendering --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return render_template(declare(_settings(target="aws")), "fraudstack test render")


def _refs(node: Any) -> set[str]:
    """Every logical id a template fragment refers to through Ref or Fn::GetAtt."""
    if isinstance(node, dict):
        found = set()
        for key, value in node.items():
            if key == "Ref":
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0])
            else:
                found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()


def test_template_has_every_resource_and_references_resolve(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert {r.logical_id for r in declare(_settings(target="aws"))} <= resources.keys()
    assert all(definition["Type"].startswith("AWS::") for definition in resources.values())
    assert _refs(resources) <= resources.keys()


def test_template_holds_no_secret_value() -> None:
    rendered = json.dumps(render_template(declare(_settings(target="aws")), "x"))
    assert "not-a-real-password" not in rendered


def test_iam_policies_name_exact_actions_and_resources(template: dict[str, Any]) -> None:
    roles = [d for d in template["Resources"].values() if d["Type"] == IamRole.cfn_type]
    assert roles
    for role in roles:
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                assert all("*" not in action for action in statement["Action"])
                assert all(resource != "*" for resource in statement["Resource"])


def test_cfn_lint_passes(template: dict[str, Any]) -> None:
    from cfnlint.api import lint

    matches = lint(json.dumps(template), regions=["us-east-1"])
    assert not matches, "\n".join(str(m) for m in matches)
