"""Building blocks of the AWS-only declarations.

Why a separate base: these resources exist only in the CloudFormation template (a VPC,
Redshift, ECS...); the emulator has no use for them, so ``ensure`` refuses with a line that
says where they come from instead of half-creating them. They reuse
:class:`fraudstack.provisioning.base.Resource`, :class:`~fraudstack.provisioning.base.Arn` and
:class:`~fraudstack.provisioning.resources.IamRole` so one renderer and one IAM check cover
everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from fraudstack.errors import ConfigError
from fraudstack.provisioning.base import Arn, Change, DeployTarget, Resource

#: The resource of actions that AWS only grants on every resource (see :data:`UNSCOPED_ACTIONS`).
ANY_RESOURCE = Arn("*", "*")

#: Actions that accept no resource narrower than ``*``, each narrowed by a condition where
#: AWS offers one. tests/provisioning/aws checks that ``Resource: "*"`` appears with these only.
UNSCOPED_ACTIONS: frozenset[str] = frozenset(
    {
        "cloudwatch:PutMetricData",  # condition: cloudwatch:namespace
        "ecr:GetAuthorizationToken",  # registry login, account-wide by design
        # Network interfaces of VPC Lambdas and Glue connections (created by the service).
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeRouteTables",
        "ec2:DescribeVpcAttribute",
    }
)


@dataclass(frozen=True, kw_only=True)
class AwsOnly(Resource):
    """A resource that only the CloudFormation template creates."""

    def ensure(self, target: DeployTarget) -> Change:
        raise ConfigError(
            f"{self.kind} {self.name} exists on AWS only; `fraudstack deploy --target aws` creates it "
            "through CloudFormation"
        )
