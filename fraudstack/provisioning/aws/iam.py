"""One IAM role per AWS-only component, each with exactly the actions its code calls.

Why here and not in :mod:`fraudstack.provisioning.policies`: these components (Fargate tasks, the
schedule, Redshift's COPY) exist only on AWS. The pipeline's own roles stay in the shared
declaration; what only the AWS deploy adds to them (VPC network interfaces, the Glue
library and connection) is a separate :class:`RolePolicy`, so the local declaration is
unchanged. Every ``Resource: "*"`` here is an action in
:data:`~fraudstack.provisioning.aws.base.UNSCOPED_ACTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fraudstack.provisioning.aws import parameters
from fraudstack.provisioning.aws.base import ANY_RESOURCE, AwsOnly
from fraudstack.provisioning.aws.monitoring import LogGroup
from fraudstack.provisioning.base import (
    POLICY_VERSION,
    Arn,
    ConditionalStatement,
    Statement,
    ref,
    sub,
    sub_arn,
)
from fraudstack.provisioning.policies import read_secret
from fraudstack.provisioning.resources import Bucket, IamRole, KinesisStream, Secret, SnsTopic
from fraudstack.settings import Settings

#: fraudstack.model.registry.PREFIX (not imported: that module needs xgboost; a test keeps them equal).
MODELS_PREFIX = "models/"

#: Where Glue publishes a job's metrics when ``--enable-metrics`` is set.
GLUE_METRICS_NAMESPACE = "Glue"

#: What a Lambda or Glue job attached to a VPC needs to manage its network interfaces.
NETWORK_INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "ec2:DescribeSubnets",
)


@dataclass(frozen=True, kw_only=True)
class RolePolicy(AwsOnly):
    """Extra inline statements on a declared role that only the AWS deploy needs."""

    role: IamRole
    statements: tuple[Statement, ...]

    kind = "iam-policy"
    cfn_type = "AWS::IAM::RolePolicy"

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "PolicyName": self.name,
            "RoleName": ref(self.role.logical_id),
            "PolicyDocument": {
                "Version": POLICY_VERSION,
                "Statement": [s.render(lambda a: a.cfn) for s in self.statements],
            },
        }


def put_metrics(settings: Settings, namespace: str | None = None) -> Statement:
    """PutMetricData, limited to one namespace (the action takes no resource).

    Default: fraudstack's own metrics. Glue's job metrics (``--enable-metrics``) go to ``Glue``.
    """
    return ConditionalStatement(
        ("cloudwatch:PutMetricData",),
        (ANY_RESOURCE,),
        {"StringEquals": {"cloudwatch:namespace": namespace or settings.metrics_namespace}},
    )


def network_interfaces() -> Statement:
    return Statement(NETWORK_INTERFACE_ACTIONS, (ANY_RESOURCE,))


def dashboard_statements(secret: Secret, artifacts: Bucket) -> tuple[Statement, ...]:
    """The dashboard: query the warehouse (its secret) and show the current model (read only)."""
    return (
        read_secret(secret),
        Statement(("s3:ListBucket",), (artifacts.arn,)),
        Statement(("s3:GetObject",), (artifacts.arn.join(f"/{MODELS_PREFIX}*"),)),
    )


def task_role(logical_id: str, name: str, statements: tuple[Statement, ...]) -> IamRole:
    return IamRole(logical_id=logical_id, name=name, service="ecs-tasks.amazonaws.com", statements=statements)


def bridge_statements(settings: Settings, stream: KinesisStream, lake: Bucket) -> tuple[Statement, ...]:
    """The Kafka->Kinesis bridge: check the stream, put records, write label events to the lake
    (``labels/``, one object per batch), publish its metrics."""
    return (
        Statement(("kinesis:DescribeStreamSummary", "kinesis:PutRecords"), (stream.arn,)),
        Statement(("s3:PutObject",), (lake.arn.join(f"/{settings.labels_prefix}*"),)),
        put_metrics(settings),
    )


def scorer_statements(settings: Settings, artifacts: Bucket, alerts: SnsTopic) -> tuple[Statement, ...]:
    """The streaming scorer: read models, keep feature-state snapshots, publish alerts and metrics."""
    return (
        Statement(("s3:ListBucket",), (artifacts.arn,)),
        Statement(("s3:GetObject",), (artifacts.arn.join(f"/{MODELS_PREFIX}*"),)),
        Statement(
            ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
            (artifacts.arn.join(f"/{settings.scorer_state_prefix}*"),),
        ),
        Statement(("sns:Publish",), (alerts.arn,)),
        put_metrics(settings),
    )


def profiles_statements(settings: Settings) -> tuple[Statement, ...]:
    """The entity-profile aggregator: Kafka only (no AWS API), so just its service metrics."""
    return (put_metrics(settings),)


def execution_role(logical_id: str, name: str, log_groups: tuple[LogGroup, ...]) -> IamRole:
    """What ECS itself needs to start the tasks: pull the image, write their logs."""
    repository = Arn(
        f"arn:{{partition}}:ecr:{{region}}:{{account}}:repository/{parameters.CONTAINER_REPOSITORY.default}",
        sub(
            "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/"
            f"${{{parameters.CONTAINER_REPOSITORY.name}}}"
        ),
    )
    return task_role(
        logical_id,
        name,
        (
            Statement(("ecr:GetAuthorizationToken",), (ANY_RESOURCE,)),
            Statement(
                ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
                (repository,),
            ),
            Statement(
                ("logs:CreateLogStream", "logs:PutLogEvents"),
                tuple(group.arn.join(":log-stream:*") for group in log_groups),
            ),
        ),
    )


def schedule_role(logical_id: str, name: str, state_machine: Arn) -> IamRole:
    return IamRole(
        logical_id=logical_id,
        name=name,
        service="events.amazonaws.com",
        statements=(Statement(("states:StartExecution",), (state_machine,)),),
    )


def copy_role(logical_id: str, name: str, settings: Settings, lake: Bucket) -> IamRole:
    """The role Redshift's COPY assumes to read the files the loaders stage."""
    return IamRole(
        logical_id=logical_id,
        name=name,
        service="redshift.amazonaws.com",
        statements=(
            Statement(("s3:ListBucket", "s3:GetBucketLocation"), (lake.arn,)),
            Statement(("s3:GetObject",), (lake.arn.join(f"/{settings.warehouse_staging_prefix}*"),)),
        ),
    )


def glue_connection_statements(
    connection: str, artifacts: Bucket, prefixes: tuple[str, ...]
) -> tuple[Statement, ...]:
    """What a Glue job adds on AWS: its library and wheels, its VPC connection and the ENIs behind it."""
    return (
        Statement(("s3:GetObject",), tuple(artifacts.arn.join(f"/{prefix}*") for prefix in prefixes)),
        Statement(
            ("glue:GetConnection",),
            (sub_arn("glue", "catalog"), sub_arn("glue", f"connection/{connection}")),
        ),
        Statement(
            (
                *NETWORK_INTERFACE_ACTIONS,
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcEndpoints",
                "ec2:DescribeRouteTables",
                "ec2:DescribeVpcAttribute",
            ),
            (ANY_RESOURCE,),
        ),
        ConditionalStatement(
            ("ec2:CreateTags", "ec2:DeleteTags"),
            (sub_arn("ec2", "network-interface/*"),),
            {"ForAllValues:StringEquals": {"aws:TagKeys": ["aws-glue-service-resource"]}},
        ),
    )
