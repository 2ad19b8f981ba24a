"""docker-compose.yml and the AWS template run the same artifacts with the same environment contract."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from fraudstack.provisioning.aws.template import SERVICES

ROOT = Path(__file__).resolve().parents[3]
#: Compose variables with no AWS counterpart: the emulator endpoint, the local warehouse DSN
#: (on AWS the Secrets Manager secret), and the local-only SNS tap queues.
LOCAL_ONLY_VARIABLES = {
    "AWS_ENDPOINT_URL",
    "FRAUDSTACK_WAREHOUSE_DSN",
    "FRAUDSTACK_ALERTS_TAP_QUEUE",
    "FRAUDSTACK_OPS_TAP_QUEUE",
}
DEFAULT = re.compile(r"^\$\{[A-Z0-9_]+:-(?P<default>[^}]*)\}$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _containers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id.removesuffix("ServiceTaskDefinition").lower(): definition["Properties"][
            "ContainerDefinitions"
        ][0]
        for logical_id, definition in template["Resources"].items()
        if definition["Type"] == "AWS::ECS::TaskDefinition" and logical_id.endswith("ServiceTaskDefinition")
    }


def test_fargate_services_run_the_compose_commands(compose: dict[str, Any], template: dict[str, Any]) -> None:
    containers = _containers(template)
    assert containers.keys() == {*SERVICES, "dashboard"}
    for service, container in containers.items():
        assert container["Command"] == compose["services"][service]["command"], service
        assert compose["services"][service]["build"] == "."  # the image the template's ECR tag holds


def test_same_environment_variables_and_defaults(compose: dict[str, Any], template: dict[str, Any]) -> None:
    app_environment = compose["x-app-environment"]
    for service, container in _containers(template).items():
        environment = {item["Name"]: item["Value"] for item in container["Environment"]}
        assert environment.keys() == app_environment.keys() - LOCAL_ONLY_VARIABLES, service
        assert environment["FRAUDSTACK_TARGET"] == "aws"
        for name, value in app_environment.items():
            match = DEFAULT.match(str(value))
            if name in environment and match and isinstance(environment[name], str):  # not an intrinsic
                assert environment[name] == match["default"], name


def test_same_resource_names(compose: dict[str, Any], template: dict[str, Any]) -> None:
    """The names compose's containers are given are the names the template creates."""
    env = {name: DEFAULT.match(str(value)) for name, value in compose["x-app-environment"].items()}
    resources = template["Resources"]
    expected = {
        "FRAUDSTACK_BUCKET": resources["LakeBucket"]["Properties"]["BucketName"],
        "FRAUDSTACK_ARTIFACTS_BUCKET": resources["ArtifactsBucket"]["Properties"]["BucketName"],
        "FRAUDSTACK_KINESIS_STREAM": resources["TransactionsStream"]["Properties"]["Name"],
        "FRAUDSTACK_FIREHOSE_STREAM": resources["RawDeliveryStream"]["Properties"]["DeliveryStreamName"],
        "FRAUDSTACK_SNS_TOPIC": resources["AlertsTopic"]["Properties"]["TopicName"],
        "FRAUDSTACK_OPS_TOPIC": resources["OpsTopic"]["Properties"]["TopicName"],
        "FRAUDSTACK_ALERT_SENDER": resources["AlertSender"]["Properties"]["EmailIdentity"],
        "FRAUDSTACK_WAREHOUSE_SECRET_NAME": resources["WarehouseSecret"]["Properties"]["Name"],
    }
    for name, value in expected.items():
        match = env[name]
        assert match and match["default"] == value, name
    shards = resources["TransactionsStream"]["Properties"]["ShardCount"]
    assert env["FRAUDSTACK_KINESIS_SHARDS"] and env["FRAUDSTACK_KINESIS_SHARDS"]["default"] == str(shards)


def test_glue_jobs_get_the_same_settings_as_job_arguments(template: dict[str, Any]) -> None:
    (container, *_) = _containers(template).values()
    names = {item["Name"]: item["Value"] for item in container["Environment"]}
    jobs = [d for d in template["Resources"].values() if d["Type"] == "AWS::Glue::Job"]
    assert jobs
    # Only the jobs load the warehouse through COPY; only the containers keep state or talk to Kafka.
    job_only = {"FRAUDSTACK_WAREHOUSE_COPY_ROLE_ARN"}
    container_only = {"FRAUDSTACK_STATE_DIR", "FRAUDSTACK_KAFKA_SECURITY_PROTOCOL"}
    for job in jobs:
        arguments = job["Properties"]["DefaultArguments"]
        passed = {key[2:]: value for key, value in arguments.items() if key.startswith("--FRAUDSTACK_")}
        assert passed["FRAUDSTACK_TARGET"] == "aws"
        assert passed.keys() >= job_only
        shared = {k: v for k, v in passed.items() if k not in job_only}
        assert shared == {k: v for k, v in names.items() if k in shared}
        assert set(shared) == {k for k in names if k.startswith("FRAUDSTACK_") and k not in container_only}
