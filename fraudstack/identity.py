"""Where the pipeline's resources live: the account, its ARNs, and the names derived from settings.

Why in the core: the runtime needs a few ARNs (the scorer publishes to the alerts topic,
the alert Lambda to the same topic) and the provisioning code creates the resources behind
them. Both build them here, from the same names, so neither has to import the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from fraudstack.aws import client
from fraudstack.errors import StackError
from fraudstack.settings import Settings

#: One quick attempt: an unreachable emulator should fail in seconds, not after retries.
_PROBE = Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=15)


@dataclass(frozen=True)
class Identity:
    """An account in a region of a partition: what a regional ARN is made of."""

    account_id: str
    partition: str
    region: str

    @classmethod
    def from_arn(cls, arn: str) -> Identity:
        """The account, partition and region an ARN names (e.g. a Lambda's own function ARN)."""
        _, partition, _, region, account, *_ = arn.split(":")
        return cls(account_id=account, partition=partition, region=region)

    def arn(self, service: str, resource: str) -> str:
        """The ARN of a regional ``resource`` of ``service`` in this account."""
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"

    def topic_arn(self, topic: str) -> str:
        """An SNS topic's ARN from its name."""
        return self.arn("sns", topic)


def caller_identity(settings: Settings) -> Identity:
    """Reach the target once and learn its account; fail with one line if it is not there."""
    try:
        identity = client("sts", settings, config=_PROBE).get_caller_identity()
    except (EndpointConnectionError, ClientError, BotoCoreError) as exc:
        where = settings.aws_endpoint_url or f"AWS ({settings.aws_region})"
        hint = (
            "start it with `fraudstack stack up` or set AWS_ENDPOINT_URL"
            if settings.is_local
            else "check your AWS credentials"
        )
        raise StackError(f"cannot reach {where}: {exc}; {hint}") from None
    partition = boto3.session.Session().get_partition_for_region(settings.aws_region)
    return Identity(account_id=identity["Account"], partition=partition, region=settings.aws_region)


@dataclass(frozen=True)
class PipelineNames:
    """Names of the batch pipeline's resources.

    Derived from the settings' topic and bucket names (as the Firehose role's name is), so a
    deploy with other names, such as a test's, gets its own function, jobs and state machine.
    """

    alert_function: str
    etl_job: str
    inference_job: str
    drift_job: str
    retraining_job: str
    state_machine: str
    retraining_machine: str


def pipeline_names(settings: Settings) -> PipelineNames:
    return PipelineNames(
        alert_function=f"{settings.sns_topic}-handler",
        etl_job=f"{settings.bucket}-etl-cleaning",
        inference_job=f"{settings.bucket}-ml-inference",
        drift_job=f"{settings.bucket}-model-drift",
        retraining_job=f"{settings.bucket}-retraining",
        state_machine=f"{settings.bucket}-fraud-pipeline",
        retraining_machine=f"{settings.bucket}-model-retraining",
    )
