"""A state machine runs a ``.sync`` Glue task, then a Lambda task, for real.

The Glue script (no Spark, to keep the test fast) writes an object; the Lambda handler
reads it back, so the execution only succeeds if the ``.sync`` task really waited for the
job run to finish. ``ResultSelector`` keeps datetimes (StartedOn ...) out of the state
output, which moto's DescribeExecution cannot serialise.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support import wait_until
from tests.support.emulator import Aws, create_job, unique, upload, zip_of

GLUE_SCRIPT = """
import sys, time, boto3
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
time.sleep(1)  # the Lambda step must not start before this run ends
s3 = boto3.client("s3")
s3.put_object(Bucket=args["--bucket"], Key="cleaned/marker.txt", Body=args["--batch"].encode())
"""

HANDLER = """
import boto3

def handler(event, context):
    body = boto3.client("s3").get_object(Bucket=event["bucket"], Key="cleaned/marker.txt")["Body"].read()
    return {"batch": body.decode(), "glue_state": event["glue"]["state"]}
"""


def definition(job: str, function: str) -> str:
    return json.dumps(
        {
            "StartAt": "RunDataCleaningJob",
            "States": {
                "RunDataCleaningJob": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::glue:startJobRun.sync",
                    "Parameters": {"JobName": job, "Arguments": {"--batch.$": "$.batch"}},
                    "ResultSelector": {"state.$": "$.JobRunState"},
                    "ResultPath": "$.glue",
                    "Next": "CheckForNewFraud",
                },
                "CheckForNewFraud": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": function, "Payload.$": "$"},
                    "ResultSelector": {"result.$": "$.Payload"},
                    "OutputPath": "$.result",
                    "End": True,
                },
            },
        }
    )


def test_glue_sync_then_lambda(aws: Aws, role_arn: str, bucket: str) -> None:
    script = upload(aws, bucket, "scripts/clean.py", GLUE_SCRIPT.encode())
    job = create_job(aws, role_arn, script, {"--bucket": bucket})
    function = unique("check")
    aws("lambda").create_function(
        FunctionName=function,
        Runtime="python3.11",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": zip_of({"app.py": HANDLER})},
        Timeout=30,
    )
    sfn = aws("stepfunctions")
    machine = sfn.create_state_machine(
        name=unique("pipeline"), definition=definition(job, function), roleArn=role_arn
    )

    execution = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"],
        name=unique("run"),
        input=json.dumps({"bucket": bucket, "batch": "2026-11-29T17"}),
    )
    described = wait_until(
        lambda: (
            (d := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] != "RUNNING" and d
        ),
        60,
        "execution ended",
        interval=0.5,
    )

    assert described["status"] == "SUCCEEDED", described
    output: dict[str, Any] = json.loads(described["output"])
    assert output == {"batch": "2026-11-29T17", "glue_state": "SUCCEEDED"}
