"""The resource declaration: complete, named by settings, and renderable as valid CloudFormation."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from fraudstack.provisioning.base import Resource, render_template
from fraudstack.provisioning.declaration import declare, warehouse_secret_value
from fraudstack.provisioning.resources import FirehoseDeliveryStream, IamRole, SqsQueue
from fraudstack.settings import Settings, load_settings
from fraudstack.warehouse import secret
from tests.support.names import LOCAL_ONLY_FIELDS, RESOURCE_NAME_FIELDS


def _settings(**overrides: Any) -> Settings:
    return load_settings(warehouse_password="not-a-real-password", **overrides)


def _by_name(resources: Iterable[Resource]) -> dict[str, Resource]:
    return {r.name: r for r in resources}


def test_every_settings_resource_name_is_declared() -> None:
    settings = _settings()
    names = _by_name(declare(settings))
    for field in RESOURCE_NAME_FIELDS + LOCAL_ONLY_FIELDS:
        assert getattr(settings, field) in names, field


def test_names_follow_the_settings() -> None:
    settings = _settings(bucket="other-lake", kinesis_stream="other-stream", kinesis_shards=3)
    declaration = declare(settings)
    assert "other-lake" in _by_name(declaration) and "fraudstack-lake" not in _by_name(declaration)
    assert (declaration.stream.name, declaration.stream.shards) == ("other-stream", 3)


def test_aws_target_has_no_test_taps() -> None:
    resources = declare(_settings(target="aws"))
    assert resources.alerts_tap is None and resources.ops_tap is None
    assert not [r for r in resources if isinstance(r, SqsQueue)]
    names = _by_name(resources)
    for field in RESOURCE_NAME_FIELDS:
        assert getattr(load_settings(), field) in names, field


def test_topics_have_email_recipients_and_local_taps() -> None:
    settings = _settings(
        alert_recipients=["a@example.com", "b@example.com"], ops_recipients=["ops@example.com"]
    )
    declaration = declare(settings)
    alerts = declaration.alerts
    assert [s.endpoint for s in alerts.subscriptions if s.protocol == "email"] == [
        "a@example.com",
        "b@example.com",
    ]
    assert [s.protocol for s in alerts.subscriptions].count("sqs") == 1
    assert [s.endpoint for s in declaration.ops.subscriptions if s.protocol == "email"] == ["ops@example.com"]


def test_firehose_reads_kinesis_into_raw_prefix_with_buffering_from_settings() -> None:
    settings = _settings(firehose_buffer_mb=7, firehose_buffer_seconds=30)
    delivery = declare(settings).delivery
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


def test_the_warehouse_reads_back_the_secret_the_deploy_writes() -> None:
    dsn = "postgresql://u%40x:p%2Fw@db.internal:6543/wh"
    value = warehouse_secret_value(load_settings(warehouse_dsn=dsn))
    assert value is not None
    assert secret.decode(value.get_secret_value()) == {"dsn": dsn}


def test_secret_without_a_known_password_has_no_value(tmp_path: Any) -> None:
    settings = load_settings(state_dir=tmp_path)
    assert declare(settings).warehouse.value is None


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
