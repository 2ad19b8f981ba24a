"""Lambda Invoke runs the real handler from the uploaded zip.

The handler runs under the emulator's own interpreter (the venv), which is why it can
import boto3 without shipping it: on AWS the python3.11 runtime provides boto3 too. Its
environment is only the function's, plus ``AWS_ENDPOINT_URL`` pointing back at the
emulator, so the S3 write below lands in the emulator.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.emulator import Aws, unique, zip_of

HANDLER = """
import os
import boto3

def handler(event, context):
    if event.get("fail"):
        raise ValueError("card 4242 rejected: " + event["fail"])
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    bucket = os.environ["OUTPUT_BUCKET"]
    boto3.client("s3").put_object(Bucket=bucket, Key="from-lambda.txt", Body=b"hello")
    return {"echo": event, "function": context.function_name, "bucket": bucket,
            "endpoint": os.environ["AWS_ENDPOINT_URL"]}
"""


def create_function(aws: Aws, role: str, name: str, bucket: str, timeout: int = 10) -> None:
    aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_of({"app.py": HANDLER})},
        Timeout=timeout,
        Environment={"Variables": {"OUTPUT_BUCKET": bucket}},
    )


def invoke(aws: Aws, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    answer = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return json.loads(answer["Payload"].read()), answer.get("FunctionError")


def test_handler_really_runs(aws: Aws, role_arn: str, bucket: str, emulator_settings: Any) -> None:
    name = unique("echo")
    create_function(aws, role_arn, name, bucket)

    payload, error = invoke(aws, name, {"card": "4242"})

    assert error is None
    assert payload == {
        "echo": {"card": "4242"},
        "function": name,
        "bucket": bucket,
        "endpoint": emulator_settings.aws_endpoint_url,
    }
    assert aws("s3").get_object(Bucket=bucket, Key="from-lambda.txt")["Body"].read() == b"hello"


def test_handler_exception_is_a_function_error(aws: Aws, role_arn: str, bucket: str) -> None:
    name = unique("fails")
    create_function(aws, role_arn, name, bucket)

    payload, error = invoke(aws, name, {"fail": "stolen"})

    assert error == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "card 4242 rejected: stolen"


def test_function_timeout_is_respected(aws: Aws, role_arn: str, bucket: str) -> None:
    name = unique("slow")
    create_function(aws, role_arn, name, bucket, timeout=1)

    payload, error = invoke(aws, name, {"sleep": 30})

    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "timed out after 1.00 seconds" in payload["errorMessage"]
