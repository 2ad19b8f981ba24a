"""Every moto patch applies to the pinned moto, and a missing target fails loudly."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from fraudstack.localaws import patches
from fraudstack.localaws.glue_runner import GlueRunner
from fraudstack.localaws.kinesis_store import KinesisStore
from fraudstack.localaws.lambda_runtime import LambdaRuntime
from fraudstack.localaws.s3_store import S3Store


def test_every_patch_applies(tmp_path: Path) -> None:
    assert moto.__version__ == patches.MOTO_VERSION
    names = patches.apply(
        LambdaRuntime(tmp_path / "lambda", "http://127.0.0.1:1"),
        GlueRunner(tmp_path / "glue", "http://127.0.0.1:1", "us-east-1", s3_client=None),
        S3Store(tmp_path / "s3"),
        KinesisStore(tmp_path / "kinesis"),
    )
    assert set(names) >= {t.patch for t in patches.TARGETS}
    assert all(patches.applied(t) for t in patches.TARGETS)
    from moto.core.config import default_user_config

    assert default_user_config["stepfunctions"]["execute_state_machine"] is True


def test_a_missing_target_names_the_patch() -> None:
    gone = patches.Target("glue-start-job-run", "moto.glue.models", "FakeJob", "no_such_method")
    with pytest.raises(patches.PatchError, match=r"'glue-start-job-run'.*FakeJob\.no_such_method"):
        gone.resolve()


# --- sqs-send-message ----------------------------------------------------------------------------
@pytest.fixture
def sqs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """boto3 SQS on in-process moto with every patch applied (never the session's emulator)."""
    patches.apply(
        LambdaRuntime(tmp_path / "lambda", "http://127.0.0.1:1"),
        GlueRunner(tmp_path / "glue", "http://127.0.0.1:1", "us-east-1", s3_client=None),
        S3Store(tmp_path / "s3"),
        KinesisStore(tmp_path / "kinesis"),
    )
    for name in [n for n in os.environ if n.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE"))]:
        monkeypatch.delenv(name)
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def _backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    return sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


def _parameters(function: Any) -> list[tuple[str, Any, Any]]:
    signature = inspect.signature(function, follow_wrapped=False)
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


#: Message fields set from the clock, so never equal between two sends.
_TIMES = {"sent_timestamp", "visible_at", "delayed_until"}


def test_sqs_standard_queue_sends_as_before(sqs: Any) -> None:
    from moto.sqs.models import SQSBackend

    assert patches.applied(next(t for t in patches.TARGETS if t.patch == "sqs-send-message"))
    assert _parameters(SQSBackend.send_message) == _parameters(SQSBackend.send_message.__wrapped__)
    url = sqs.create_queue(QueueName="tap")["QueueUrl"]
    attributes = {"kind": {"DataType": "String", "StringValue": "alert"}}
    sent = [
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageAttributes=attributes) for i in range(30)
    ]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    with pytest.raises(ClientError, match="DelaySeconds must be >= 0 and <= 900"):
        sqs.send_message(QueueUrl=url, MessageBody="never", DelaySeconds=901)

    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "30"
    assert counts["ApproximateNumberOfMessagesDelayed"] == "1"
    received: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        received += batch
    assert sorted(m["Body"] for m in received) == sorted(f"m{i}" for i in range(30))  # not "later"
    assert all(m["MessageAttributes"] == attributes for m in received)
    by_id = {m["MessageId"]: m for m in received}
    for answer in sent:
        assert by_id[answer["MessageId"]]["MD5OfBody"] == answer["MD5OfMessageBody"]
        assert by_id[answer["MessageId"]]["MD5OfMessageAttributes"] == answer["MD5OfMessageAttributes"]
    after = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert after["ApproximateNumberOfMessages"] == "0"
    assert after["ApproximateNumberOfMessagesNotVisible"] == "30"

    # the queue's own DelaySeconds is the default, as in moto
    slow = sqs.create_queue(QueueName="slow", Attributes={"DelaySeconds": "30"})["QueueUrl"]
    sqs.send_message(QueueUrl=slow, MessageBody="x")
    sqs.send_message(QueueUrl=slow, MessageBody="y", DelaySeconds=0)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=slow).get("Messages", [])] == ["y"]


def test_sqs_standard_send_builds_the_message_moto_builds(sqs: Any) -> None:
    """Same arguments, same seed: the patched send and moto's own store the same Message."""
    from moto.core.exceptions import ServiceException
    from moto.moto_api._internal import mock_random
    from moto.sqs.models import SQSBackend

    sqs.create_queue(QueueName="plain", Attributes={"DelaySeconds": "5"})
    backend, original = _backend(), SQSBackend.send_message.__wrapped__
    cases: list[dict[str, Any]] = [
        {},
        {"delay_seconds": 0},
        {"delay_seconds": "7"},
        {"message_attributes": {"a": {"data_type": "String", "string_value": "b"}}},
        {"deduplication_id": "d1", "group_id": "g1"},
        {"system_attributes": {"AWSTraceHeader": {"string_value": "t"}}},
    ]
    for case in cases:
        made = []
        for send in (original, SQSBackend.send_message):
            mock_random.seed(42)
            message = send(backend, "plain", "body", **case)
            made.append({k: v for k, v in vars(message).items() if k not in _TIMES})
        assert made[0] == made[1], case
        assert made[0]["id"] in {m.id for m in backend.get_queue("plain")._messages}
    for bad in ({"delay_seconds": 901}, {"message_body": "x" * 1_048_577}):
        errors = []
        for send in (original, SQSBackend.send_message):
            with pytest.raises(ServiceException) as caught:
                send(backend, "plain", **{"message_body": "body", **bad})
            errors.append((type(caught.value), caught.value.code, caught.value.message))
        assert errors[0] == errors[1], bad


def test_sqs_fifo_queue_still_dedupes_by_content(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName="alerts.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for _ in range(3):
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="other", MessageGroupId="g")
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert counts["Attributes"]["ApproximateNumberOfMessages"] == "2"
    with pytest.raises(ClientError, match="MessageGroupId"):
        sqs.send_message(QueueUrl=url, MessageBody="no group")


def test_sqs_send_to_a_standard_queue_never_scans_it(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2.5 reads ``queue.attributes`` on every send: three scans of the queue, so a send
    cost ~350 ms at 20,000 messages. The patched send on a standard queue reads it never (its
    cost cannot grow with the queue); moto's own send, the control, reads it each time."""
    from moto.sqs.models import Queue

    sqs.create_queue(QueueName="full")
    backend = _backend()
    for i in range(1_000):
        backend.send_message("full", f"m{i}")
    reads: list[str] = []
    computed = Queue.attributes
    assert isinstance(computed, property) and computed.fget is not None
    fget = computed.fget
    monkeypatch.setattr(Queue, "attributes", property(lambda queue: reads.append(queue.name) or fget(queue)))

    for i in range(200):
        backend.send_message("full", f"t{i}")
    assert reads == []
    type(backend).send_message.__wrapped__(backend, "full", "control")
    assert reads, "moto's own send reads the attributes: the count above could have caught a scan"
    assert backend.get_queue_attributes("full", ["ApproximateNumberOfMessages"]) == {
        "ApproximateNumberOfMessages": 1_201
    }


# --- sns-signing-certificate ---------------------------------------------------------------------
def test_sns_signs_messages_with_one_certificate(sqs: Any) -> None:
    """Each notification verifies against the certificate its SigningCertURL names, which moto
    made once for the subscription (it made and kept one per message before)."""
    import base64
    import json

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    assert patches.applied(next(t for t in patches.TARGETS if t.patch == "sns-signing-certificate"))
    sns = boto3.client("sns", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url = sqs.create_queue(QueueName="tap")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    attributes = {"decision": {"DataType": "String", "StringValue": "decline"}}
    for i in range(5):
        sns.publish(TopicArn=topic, Message=f"alert {i}", Subject=f"s{i}", MessageAttributes=attributes)
    envelopes = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        envelopes += [json.loads(m["Body"]) for m in batch]
    pems = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]._message_public_keys

    assert sorted(e["Message"] for e in envelopes) == [f"alert {i}" for i in range(5)]
    assert len({e["SigningCertURL"] for e in envelopes}) == 1
    assert len(pems) == 1
    assert len({tuple(sorted(e)) for e in envelopes}) == 1  # moto's first body and ours: same fields
    certificate = x509.load_pem_x509_certificate(pems[envelopes[0]["SigningCertURL"].rsplit("/", 1)[1]])
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    for e in envelopes:
        assert e["Subject"].startswith("s") and e["MessageAttributes"]["decision"]["Value"] == "decline"
        signed = "".join(
            f"{field}\n{e[field]}\n" for field in ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
        )
        public_key.verify(
            base64.b64decode(e["Signature"]), signed.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
