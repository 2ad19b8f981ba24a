"""``fraudstack deploy --target aws`` against the emulator's CloudFormation (moto, in process).

moto creates only some resource types from a template and cannot evaluate ``Fn::Cidr`` /
``Fn::GetAZs``, so the real deploy path (bootstrap, upload, change set, execute) runs on the
subset it supports: the template minus unsupported types, the VPC and whatever refers to
them. The full template is exercised as a dry run, which prints what a new stack would add.
The bootstrap steps that need real AWS (MSK, ECS tasks in the VPC, the model registry) are
replaced by recorders where the whole deploy runs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.cloudformation.parsing import resource_class_from_type

from fraudstack.cli.app import main
from fraudstack.provisioning import cloudformation
from fraudstack.provisioning.aws import artifacts, changeset
from fraudstack.provisioning.aws.template import render
from fraudstack.settings import Settings
from tests.support.cfn import references

STACK = "fraudstack-test"


def supported_subset(template: dict[str, Any]) -> dict[str, Any]:
    """The resources moto's CloudFormation creates, minus any that refer to one it does not."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kept = {
            logical_id: definition
            for logical_id, definition in template["Resources"].items()
            if resource_class_from_type(definition["Type"])
            and not definition["Type"].startswith("AWS::EC2::")
        }
    while True:
        dangling = {
            logical_id
            for logical_id, definition in kept.items()
            if (references(definition) - kept.keys() - template["Parameters"].keys())
            - {"AWS::Region", "AWS::AccountId"}
        }
        if not dangling:
            break
        kept = {k: v for k, v in kept.items() if k not in dangling}
    return {**template, "Resources": kept, "Outputs": {}}


@pytest.fixture
def emulated_aws(monkeypatch: pytest.MonkeyPatch, layer_cache: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("FRAUDSTACK_", "AWS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRAUDSTACK_STATE_DIR", str(layer_cache.parent))  # reuse the built layer
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "b-1.kafka.internal:9098")
    monkeypatch.setenv("FRAUDSTACK_DASHBOARD_URL", "https://fraud.example.com/")
    monkeypatch.setenv(
        "FRAUDSTACK_DASHBOARD_CERTIFICATE_ARN", "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    )
    with warnings.catch_warnings(), mock_aws():
        warnings.simplefilter("ignore")  # moto warns for each type it skips
        yield


def test_the_supported_subset_deploys_then_redeploys_unchanged(
    emulated_aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    full = render(Settings(target="aws"))
    subset = supported_subset(full)
    assert {"LakeBucket", "ArtifactsBucket", "TransactionsStream", "AlertsTopic", "BridgeTaskRole"} <= subset[
        "Resources"
    ].keys()
    monkeypatch.setattr(cloudformation, "render", lambda settings: subset)
    monkeypatch.setattr(artifacts, "glue_wheels", lambda cache_dir: [])  # ~80 MB; test_packaging covers them

    assert main(["deploy", "--target", "aws", "--stack", STACK, "--no-bootstrap"]) == 0
    out = capsys.readouterr().out
    assert "creating stack fraudstack-test with the artifacts bucket first" in out
    assert "uploaded   s3://fraudstack-artifacts/lambda/" in out
    assert f"stack {STACK}: UPDATE_COMPLETE" in out  # the full template updates the bootstrap stack

    cfn = boto3.client("cloudformation", region_name="us-east-1")
    created = {
        r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    }
    assert subset["Resources"].keys() <= created
    s3 = boto3.client("s3", region_name="us-east-1")
    assert {"fraudstack-lake", "fraudstack-artifacts"} <= {b["Name"] for b in s3.list_buckets()["Buckets"]}
    kinesis = boto3.client("kinesis", region_name="us-east-1")
    summary = kinesis.describe_stream_summary(StreamName="fraudstack-transactions")[
        "StreamDescriptionSummary"
    ]
    assert summary["OpenShardCount"] == 2
    topics = boto3.client("sns", region_name="us-east-1").list_topics()["Topics"]
    assert any(t["TopicArn"].endswith(":fraudstack-alerts") for t in topics)
    iam = boto3.client("iam", region_name="us-east-1")
    assert iam.get_role_policy(RoleName="fraudstack-bridge", PolicyName="least-privilege")["PolicyDocument"]

    assert main(["deploy", "--target", "aws", "--stack", STACK, "--no-bootstrap"]) == 0
    again = capsys.readouterr().out
    assert "uploaded" not in again and again.count("unchanged  s3://") >= 3, again


def test_a_new_stack_is_bootstrapped_in_the_planned_order(
    emulated_aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stack first with nothing started, then brokers, migration and model, then the services."""
    subset = supported_subset(render(Settings(target="aws")))
    monkeypatch.setattr(cloudformation, "render", lambda settings: subset)
    monkeypatch.setattr(artifacts, "glue_wheels", lambda cache_dir: [])
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    ran: list[tuple[str, str]] = []

    def recorder(name: str) -> Any:
        def step(self: Any, step: Any) -> bool:  # what AWS would do here cannot run on moto
            parameters = cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Parameters"]
            started = {p["ParameterKey"]: p["ParameterValue"] for p in parameters}["ServiceDesiredCount"]
            ran.append((name, started))
            return True

        return step

    for name in ("brokers", "migrate", "publish_model"):
        monkeypatch.setattr(cloudformation._Run, name, recorder(name))
    change_sets: list[dict[str, str]] = []
    create = changeset.create_change_set

    def recorded_create(cfn: Any, stack: str, source: dict[str, str], values: dict[str, str]) -> Any:
        change_sets.append(values)
        return create(cfn, stack, source, values)

    monkeypatch.setattr(changeset, "create_change_set", recorded_create)
    assert main(["deploy", "--target", "aws", "--stack", STACK, "--model", "unused"]) == 0
    assert ran == [("brokers", "0"), ("migrate", "0"), ("publish_model", "0")]
    # The bucket first, the template with nothing started, then the start. (moto applies a
    # parameter-only change set as "no changes": no resource it creates here uses them.)
    starts = [(v.get("ServiceDesiredCount"), v.get("PipelineScheduleState")) for v in change_sets]
    assert starts == [(None, None), ("0", "DISABLED"), ("1", "ENABLED")]
    assert capsys.readouterr().out.endswith(f"stack {STACK}: no changes\n")


def test_dry_run_of_the_full_template_prints_the_change_set_and_applies_nothing(
    emulated_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--target", "aws", "--stack", STACK, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Add      AWS::RedshiftServerless::Workgroup" in out
    assert "Add      AWS::ECS::Service" in out
    assert "none applied" in out
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    assert not [s for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"]
    assert not boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"]


def test_dry_run_without_credentials_only_renders(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in list(os.environ):
        if name.startswith(("FRAUDSTACK_", "AWS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["deploy", "--target", "aws", "--stack", STACK, "--dry-run"]) == 0
    assert main(["deploy", "--target", "aws", "--stack", STACK]) != 0  # a real deploy needs credentials


def test_aws_target_needs_a_stack_name() -> None:
    assert main(["deploy", "--target", "aws"]) != 0


def test_a_template_over_the_inline_limit_goes_through_the_artifacts_bucket(
    emulated_aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    subset = supported_subset(render(Settings(target="aws")))
    monkeypatch.setattr(cloudformation, "render", lambda settings: subset)
    monkeypatch.setattr(changeset, "MAX_TEMPLATE_BODY", 1_000)
    monkeypatch.setattr(artifacts, "glue_wheels", lambda cache_dir: [])  # large, and beside the point here
    assert main(["deploy", "--target", "aws", "--stack", STACK, "--no-bootstrap"]) == 0
    assert f"stack {STACK}: UPDATE_COMPLETE" in capsys.readouterr().out  # after the bootstrap's CREATE
    s3 = boto3.client("s3", region_name="us-east-1")
    keys = [
        o["Key"] for o in s3.list_objects_v2(Bucket="fraudstack-artifacts", Prefix="templates/")["Contents"]
    ]
    assert len(keys) == 1 and keys[0].endswith(".json")
