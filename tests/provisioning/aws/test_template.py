"""The AWS template: checked in equal to a fresh render, valid, complete, least privilege."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import yaml

from fraudstack.provisioning.aws.base import UNSCOPED_ACTIONS
from fraudstack.provisioning.aws.template import AwsDeclaration, to_yaml
from fraudstack.provisioning.declaration import declare
from fraudstack.settings import Settings, load_settings
from tests.support.cfn import policy_documents, references

ROOT = Path(__file__).resolve().parents[3]
CHECKED_IN = ROOT / "infra" / "fraudstack.yaml"

#: Declared on local targets only: SQS queues subscribed to the topics so tests can read them.
LOCAL_ONLY = {"AlertsTapQueue", "OpsTapQueue"}
#: Kinds of resource only the AWS template has (provisioning.aws): nothing local stands in for them.
AWS_ONLY_KINDS = {
    "vpc",
    "security-group",
    "redshift-serverless",
    "glue-connection",
    "ecs-cluster",
    "ecs-service",
    "ecs-task",  # the warehouse migration the deploy runs once in the VPC
    "msk-cluster",  # Kafka (locally the Tansu broker, outside the declaration)
    "load-balancer",  # the dashboard's, with its Cognito sign-in (locally it listens on loopback)
    "log-group",
    "alarm",
    "dashboard",
    "schedule",
    "alarm-rule",  # starts retraining on a drift alarm (locally: start it by hand or from a test)
    "lambda-layer",  # the handler's third-party dependencies (the venv provides them locally)
    "iam-policy",  # AWS-only statements (VPC ENIs, Glue library) on shared roles
    "iam-role",  # roles of the AWS-only components: Fargate tasks, schedule, Redshift COPY
}


def test_checked_in_template_is_a_fresh_render(template: dict[str, Any]) -> None:
    assert CHECKED_IN.read_text() == to_yaml(template), (
        "infra/fraudstack.yaml is stale: run `fraudstack infra render --defaults > infra/fraudstack.yaml`"
    )
    assert yaml.safe_load(CHECKED_IN.read_text()) == template


def test_cfn_lint_passes(template: dict[str, Any]) -> None:
    from cfnlint.api import lint

    matches = lint(json.dumps(template), regions=["us-east-1"])
    assert not matches, "\n".join(str(m) for m in matches)


def test_local_and_aws_declare_the_same_shared_resources(
    declaration: AwsDeclaration, template: dict[str, Any], tmp_path: Path
) -> None:
    local = {r.logical_id for r in declare(load_settings(state_dir=tmp_path, warehouse_password="x"))}
    shared_on_aws = {r.logical_id for r in declare(Settings.model_construct(target="aws"))}
    assert local - LOCAL_ONLY == shared_on_aws
    assert local >= LOCAL_ONLY and not LOCAL_ONLY & template["Resources"].keys()
    assert shared_on_aws <= template["Resources"].keys()
    for resource in declaration.resources:
        if resource.logical_id not in shared_on_aws:
            assert resource.kind in AWS_ONLY_KINDS, resource
    # Every template resource comes from a declared resource, none from elsewhere.
    rendered = set().union(*(r.to_cfn().keys() for r in declaration.resources))
    assert rendered == template["Resources"].keys()


def test_every_reference_resolves(template: dict[str, Any]) -> None:
    known = template["Resources"].keys() | template["Parameters"].keys() | {"AWS::Region", "AWS::AccountId"}
    assert references(template["Resources"]) - known == set()


def test_no_wildcard_actions_and_unscoped_resources_only_where_aws_requires(template: dict[str, Any]) -> None:
    documents = policy_documents(template)
    assert len(documents) >= 10
    for logical_id, document in documents:
        for statement in document["Statement"]:
            actions = statement["Action"]
            assert all("*" not in action for action in actions), (logical_id, actions)
            if "*" in statement["Resource"]:
                assert statement["Resource"] == ["*"], logical_id
                assert set(actions) <= UNSCOPED_ACTIONS, (logical_id, set(actions) - UNSCOPED_ACTIONS)
            if "cloudwatch:PutMetricData" in actions:
                namespace = statement["Condition"]["StringEquals"]["cloudwatch:namespace"]
                assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": namespace}}
                # fraudstack's own metrics; a Glue job's role also Glue's job metrics.
                assert namespace == "fraudstack" or (namespace == "Glue" and "JobRole" in logical_id)


def test_one_role_per_component(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    role_of = {
        logical_id: json.dumps(role)
        for logical_id, definition in resources.items()
        for key in ("Role", "RoleArn", "TaskRoleArn")
        if isinstance(role := definition["Properties"].get(key), dict)
    }
    for logical_id, definition in resources.items():
        if definition["Type"] == "AWS::KinesisFirehose::DeliveryStream":
            role_of[logical_id] = json.dumps(
                definition["Properties"]["ExtendedS3DestinationConfiguration"]["RoleARN"]
            )
    components = {
        "MlInferenceJob",
        "AlertHandler",
        "FraudPipeline",
        "BridgeServiceTaskDefinition",
        "ScorerServiceTaskDefinition",
        "ProfilesServiceTaskDefinition",
        "RawDeliveryStream",
        "EtlCleaningJob",
    }
    assert components <= role_of.keys()
    roles = [role_of[c] for c in components]
    assert len(set(roles)) == len(roles)


def test_data_lake_and_streams_are_configured_for_production(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    lake = resources["LakeBucket"]["Properties"]
    assert lake["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    assert lake["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    rules = lake["LifecycleConfiguration"]["Rules"]
    assert any(rule["Prefix"] == "raw/" for rule in rules)
    firehose = resources["RawDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert firehose["CompressionFormat"] == "GZIP" and firehose["ErrorOutputPrefix"]
    subnets = [r for r in resources.values() if r["Type"] == "AWS::EC2::Subnet"]
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)
    # Only the egress route table leads out (to the NAT gateway); the isolated subnets have no route.
    routes = {
        json.dumps(r["Properties"]["RouteTableId"]): r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::Route"
    }
    assert '{"Ref": "NetworkPrivateRouteTable"}' not in routes
    assert "NatGatewayId" in routes['{"Ref": "NetworkEgressRouteTable"}']
    assert [r for r in resources.values() if r["Type"] == "AWS::EC2::NatGateway"]
    endpoints = {
        json.dumps(r["Properties"]["ServiceName"])
        for r in resources.values()
        if r["Type"] == "AWS::EC2::VPCEndpoint"
    }
    for service in (".s3", ".kinesis-streams", ".secretsmanager"):
        assert any(service + '"' in e for e in endpoints), service
    assert resources["WarehouseWorkgroup"]["Properties"]["PubliclyAccessible"] is False


def test_warehouse_password_is_generated_never_in_the_template(template: dict[str, Any]) -> None:
    secret = template["Resources"]["WarehouseSecret"]["Properties"]
    assert secret["GenerateSecretString"]["GenerateStringKey"] == "password"
    assert "SecretString" not in secret
    namespace = template["Resources"]["Warehouse"]["Properties"]
    assert "resolve:secretsmanager" in namespace["AdminUserPassword"]["Fn::Sub"]


def test_models_prefix_matches_the_registry() -> None:
    """Read from the source: importing the registry would import XGBoost (seconds)."""
    from fraudstack.provisioning.aws.iam import MODELS_PREFIX

    tree = ast.parse((ROOT / "fraudstack" / "model" / "registry.py").read_text())
    (prefix,) = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["PREFIX"]
    ]
    assert prefix == MODELS_PREFIX


def test_render_command_prints_the_checked_in_template(capsys: Any) -> None:
    from fraudstack.cli.app import main

    assert main(["infra", "render", "--defaults"]) == 0
    assert capsys.readouterr().out == CHECKED_IN.read_text()


def test_stateful_resources_outlive_the_stack_and_any_replacement(template: dict[str, Any]) -> None:
    """Deleting the stack, or an update that replaces one of these, must not delete its data."""
    stateful = {"LakeBucket", "ArtifactsBucket", "TransactionsStream", "WarehouseSecret", "Warehouse"}
    for logical_id in stateful:
        definition = template["Resources"][logical_id]
        assert (definition.get("DeletionPolicy"), definition.get("UpdateReplacePolicy")) == (
            "Retain",
            "Retain",
        ), logical_id


def test_the_glue_connection_sits_in_the_zone_of_its_subnet(template: dict[str, Any]) -> None:
    where = template["Resources"]["WarehouseConnection"]["Properties"]["ConnectionInput"]
    requirements = where["PhysicalConnectionRequirements"]
    subnet = requirements["SubnetId"]["Ref"]
    assert requirements["AvailabilityZone"] == {"Fn::GetAtt": [subnet, "AvailabilityZone"]}
