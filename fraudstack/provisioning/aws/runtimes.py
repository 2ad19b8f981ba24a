"""What each piece of compute in the AWS template calls, declared next to the code that calls it.

Why a declared list: the VPC has no route out except where this list says one is needed, so
a component whose code starts calling another AWS service would time out on AWS only (the
emulator is reached over loopback from everywhere). ``tests/provisioning/aws/test_reachability.py``
checks both directions: ``calls`` equals the boto3 clients the code reachable from
``entry`` creates (read statically from the source), and every service in ``calls`` and
``platform`` is reachable from that resource's subnets in the rendered template, through a
VPC endpoint or a NAT route.
"""

from __future__ import annotations

from dataclasses import dataclass

import botocore.session

#: What ECS needs from a Fargate task's subnets before the container runs: the image
#: (ECR API and registry; the layers themselves are in S3) and the awslogs driver.
FARGATE_PLATFORM = frozenset({"ecr.api", "ecr.dkr", "s3", "logs"})
#: What a Glue job in a VPC connection needs besides its code's calls: the script, library
#: and wheels it downloads from S3, and CloudWatch for the job metrics (``--enable-metrics``).
GLUE_PLATFORM = frozenset({"s3", "monitoring"})

#: VPC endpoint service names that differ from the API's endpoint prefix.
_ENDPOINT_NAMES = {"kinesis": "kinesis-streams"}


@dataclass(frozen=True)
class Runtime:
    """One compute resource of the template and the AWS APIs it reaches from its subnets."""

    resource: str  # logical id in the template
    entry: str  # source path of the module whose code that runtime runs (handler, job, command)
    calls: frozenset[str]  # boto3 service names of the clients its code creates
    platform: frozenset[str] = frozenset()  # endpoint names the AWS runtime itself needs (image, logs)

    def endpoint_services(self) -> frozenset[str]:
        """Every service as its VPC endpoint names it (``com.amazonaws.<region>.<name>``)."""
        return frozenset(endpoint_service(service) for service in self.calls) | self.platform


def endpoint_service(boto3_service: str) -> str:
    """The VPC endpoint name of a boto3 service: its API's endpoint prefix (ses -> email)."""
    prefix = botocore.session.get_session().get_service_model(boto3_service).endpoint_prefix
    return _ENDPOINT_NAMES.get(prefix, prefix)


RUNTIMES: tuple[Runtime, ...] = (
    Runtime(
        resource="AlertHandler",
        entry="fraudstack/alerts/handler.py",
        # Lambda ships the function's logs itself, outside the VPC: no platform calls.
        calls=frozenset({"secretsmanager", "sns", "ses", "cloudwatch", "s3"}),
    ),
    Runtime(
        resource="EtlCleaningJob",
        entry="fraudstack/jobs/etl.py",
        calls=frozenset({"s3", "secretsmanager"}),
        platform=GLUE_PLATFORM,
    ),
    Runtime(
        resource="MlInferenceJob",
        entry="fraudstack/jobs/inference.py",
        calls=frozenset({"s3", "secretsmanager"}),
        platform=GLUE_PLATFORM,
    ),
    Runtime(
        resource="ModelDriftJob",
        entry="fraudstack/jobs/drift.py",
        calls=frozenset({"s3", "secretsmanager", "cloudwatch"}),  # cloudwatch: the drift metrics
        platform=GLUE_PLATFORM,
    ),
    Runtime(
        resource="RetrainingJob",
        entry="fraudstack/jobs/retraining.py",
        calls=frozenset({"s3", "secretsmanager"}),
        platform=GLUE_PLATFORM,
    ),
    Runtime(
        resource="BridgeService",
        entry="fraudstack/cli/bridge.py",
        calls=frozenset({"kinesis", "cloudwatch", "s3"}),  # s3: label events to the lake
        platform=FARGATE_PLATFORM,
    ),
    Runtime(
        resource="ScorerService",
        entry="fraudstack/cli/score.py",
        # sts: the alert publisher learns the account for the topic ARN (fraudstack.identity).
        calls=frozenset({"s3", "sns", "cloudwatch", "sts"}),
        platform=FARGATE_PLATFORM,
    ),
    Runtime(
        resource="ProfilesService",
        entry="fraudstack/cli/profiles.py",
        calls=frozenset({"cloudwatch"}),  # its service metrics; the profiles themselves are Kafka only
        platform=FARGATE_PLATFORM,
    ),
    Runtime(
        resource="DashboardService",
        entry="fraudstack/dashboard/app.py",  # what `fraudstack dashboard` hands to `streamlit run`
        calls=frozenset({"secretsmanager", "s3"}),
        platform=FARGATE_PLATFORM,
    ),
    Runtime(
        resource="MigrateTask",
        entry="fraudstack/cli/warehouse.py",
        # The whole command module counts: its `etl` command stages files in S3 too.
        calls=frozenset({"secretsmanager", "s3"}),
        platform=FARGATE_PLATFORM,
    ),
)
