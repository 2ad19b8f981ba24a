"""Fixtures for the emulator-extension tests: the session's embedded stack and its clients."""

from __future__ import annotations

import json
import uuid

import pytest

from fraudstack.aws import client
from fraudstack.settings import Settings
from tests.support.emulator import Aws
from tests.support.stack import RunningStack

ROLE_NAME = "fraudstack-localaws-test"
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "glue.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture(scope="session")
def emulator_settings(stack: RunningStack) -> Settings:
    """Settings pointing at the running emulator (started by the session's stack)."""
    return stack.settings


@pytest.fixture(scope="session")
def aws(emulator_settings: Settings) -> Aws:
    """A real boto3 client for a service on the emulator: ``aws("s3")``."""
    return lambda service: client(service, emulator_settings)


@pytest.fixture
def bucket(aws: Aws) -> str:
    """A fresh bucket per test, so tests never see each other's objects."""
    name = f"localaws-{uuid.uuid4().hex[:12]}"
    aws("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def role_arn(aws: Aws) -> str:
    """An IAM role the services may assume (moto checks that a Lambda's role exists)."""
    iam = aws("iam")
    try:
        return str(iam.get_role(RoleName=ROLE_NAME)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_TRUST))
        return str(role["Role"]["Arn"])
