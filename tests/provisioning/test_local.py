"""``fraudstack deploy`` against the running emulator, checked with real boto3 calls.

The deploy under test uses resource names unique to this module, so it starts from
nothing whatever else the session's stack has already deployed.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from fraudstack.aws import client
from fraudstack.cli.app import main
from fraudstack.errors import StackError
from fraudstack.provisioning.base import Change, Outcome
from fraudstack.provisioning.declaration import declare
from fraudstack.provisioning.local import deploy
from fraudstack.settings import Settings, load_settings
from tests.support import free_port
from tests.support.names import LOCAL_ONLY_FIELDS, RESOURCE_NAME_FIELDS
from tests.support.stack import RunningStack


@pytest.fixture(scope="module")
def settings(stack: RunningStack) -> Settings:
    tag = uuid.uuid4().hex[:8]
    names = {
        field: f"{getattr(stack.settings, field)}-{tag}"
        for field in RESOURCE_NAME_FIELDS + LOCAL_ONLY_FIELDS
        if field != "alert_sender"  # an address: set below
    }
    return stack.settings.model_copy(
        update={
            **names,
            "alert_sender": f"alerts-{tag}@fraudstack.example.com",
            "ops_recipients": ["ops@x.com"],
        }
    )


@pytest.fixture(scope="module")
def first_deploy(settings: Settings) -> list[Change]:
    return deploy(settings)


def _outcomes(changes: list[Change]) -> dict[str, Outcome]:
    return {change.resource.name: change.outcome for change in changes}


def test_first_deploy_creates_everything(settings: Settings, first_deploy: list[Change]) -> None:
    assert [c.resource.name for c in first_deploy] == [r.name for r in declare(settings)]
    assert set(_outcomes(first_deploy).values()) == {Outcome.CREATED}


def test_resources_exist_as_declared(settings: Settings, first_deploy: list[Change]) -> None:
    s3 = client("s3", settings)
    for bucket in (settings.bucket, settings.artifacts_bucket):
        s3.head_bucket(Bucket=bucket)
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())

    kinesis = client("kinesis", settings)
    summary = kinesis.describe_stream_summary(StreamName=settings.kinesis_stream)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == settings.kinesis_shards

    delivery = client("firehose", settings).describe_delivery_stream(
        DeliveryStreamName=settings.firehose_stream
    )
    description = delivery["DeliveryStreamDescription"]
    assert description["DeliveryStreamType"] == "KinesisStreamAsSource"
    source = description["Source"]["KinesisStreamSourceDescription"]
    assert source["KinesisStreamARN"] == summary["StreamARN"]
    destination = description["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert destination["BucketARN"] == f"arn:aws:s3:::{settings.bucket}"
    assert (destination["Prefix"], destination["ErrorOutputPrefix"]) == (settings.raw_prefix, "errors/")
    assert destination["BufferingHints"] == {
        "SizeInMBs": settings.firehose_buffer_mb,
        "IntervalInSeconds": settings.firehose_buffer_seconds,
    }
    role = client("iam", settings).get_role(RoleName=f"{settings.firehose_stream}-role")["Role"]
    assert source["RoleARN"] == destination["RoleARN"] == role["Arn"]

    sqs = client("sqs", settings)
    sns = client("sns", settings)
    for topic, recipients, tap in (
        (settings.sns_topic, settings.alert_recipients, settings.alerts_tap_queue),
        (settings.ops_topic, settings.ops_recipients, settings.ops_tap_queue),
    ):
        topic_arn = sns.create_topic(Name=topic)["TopicArn"]  # idempotent: returns the existing ARN
        queue_url = sqs.get_queue_url(QueueName=tap)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
        assert sorted((s["Protocol"], s["Endpoint"]) for s in subscriptions) == sorted(
            [("email", r) for r in recipients] + [("sqs", queue_arn["QueueArn"])]
        )

    ses = client("ses", settings)
    verification = ses.get_identity_verification_attributes(Identities=[settings.alert_sender])
    assert verification["VerificationAttributes"][settings.alert_sender]["VerificationStatus"] == "Success"

    secret = client("secretsmanager", settings).get_secret_value(SecretId=settings.warehouse_secret_name)
    value = json.loads(secret["SecretString"])
    assert value["dsn"] == settings.warehouse_url()
    assert (value["host"], value["port"]) == ("127.0.0.1", settings.postgres_port)


def test_second_deploy_changes_nothing(settings: Settings, first_deploy: list[Change]) -> None:
    assert set(_outcomes(deploy(settings)).values()) == {Outcome.UNCHANGED}


def test_changed_settings_update_only_what_changed(settings: Settings, first_deploy: list[Change]) -> None:
    changed = settings.model_copy(
        update={"kinesis_shards": settings.kinesis_shards + 1, "firehose_buffer_seconds": 5}
    )
    outcomes = _outcomes(deploy(changed))
    updated = {name for name, outcome in outcomes.items() if outcome is Outcome.UPDATED}
    assert updated == {settings.kinesis_stream, settings.firehose_stream}
    assert set(_outcomes(deploy(changed)).values()) == {Outcome.UNCHANGED}


def test_alerts_tap_queue_receives_published_messages(settings: Settings, first_deploy: list[Change]) -> None:
    sns = client("sns", settings)
    sqs = client("sqs", settings)
    sns.publish(TopicArn=sns.create_topic(Name=settings.sns_topic)["TopicArn"], Message="hello", Subject="t")
    queue_url = sqs.get_queue_url(QueueName=settings.alerts_tap_queue)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5)["Messages"]
    assert json.loads(messages[0]["Body"])["Message"] == "hello"


def test_cli_prints_one_line_per_resource_and_a_summary(
    stack: RunningStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy"]) == 0  # the session stack's own names, from the exported environment
    assert main(["deploy"]) == 0
    lines = capsys.readouterr().out.splitlines()
    second = lines[len(lines) // 2 :]
    count = len(declare(stack.settings))
    assert len(second) == count + 1
    assert all(line.startswith("unchanged") for line in second[:-1])
    assert second[-1].endswith(f"0 created, 0 updated, {count} unchanged")


def test_unreachable_emulator_is_one_clear_error(tmp_path: Any) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = load_settings(aws_endpoint_url=nowhere, state_dir=tmp_path, warehouse_password="x")
    with pytest.raises(StackError, match=r"cannot reach .*fraudstack stack up"):
        deploy(settings)
