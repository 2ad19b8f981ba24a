"""Building blocks of the AWS-only declarations.

Why a separate base: these resources exist only in the CloudFormation template (a VPC,
Redshift, ECS...); the emulator has no use for them, so ``ensure`` refuses with a line that
says where they come from instead of half-creating them. They reuse
:class:`fraudstack.resources.Resource`, :class:`~fraudstack.resources.Arn` and
:class:`~fraudstack.resources.IamRole` so one renderer and one IAM check cover everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fraudstack.errors import ConfigError
from fraudstack.resources import Arn, Change, DeployTarget, Resource, Statement

#: The resource of actions that AWS only grants on every resource (see :data:`UNSCOPED_ACTIONS`).
ANY_RESOURCE = Arn("*", "*")

#: Actions that accept no resource narrower than ``*``, each narrowed by a condition where
#: AWS offers one. tests/infra checks that ``Resource: "*"`` appears with these only.
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


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def get_att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def sub_arn(service: str, resource: str, regional: bool = True) -> Arn:
    """An ARN whose template form uses only pseudo parameters (for resources outside the stack)."""
    where = "{region}:{account}" if regional else ":{account}"
    cfn_where = "${AWS::Region}:${AWS::AccountId}" if regional else ":${AWS::AccountId}"
    return Arn(
        f"arn:{{partition}}:{service}:{where}:{resource}",
        sub(f"arn:${{AWS::Partition}}:{service}:{cfn_where}:{resource}"),
    )


@dataclass(frozen=True)
class ConditionalStatement(Statement):
    """A statement narrowed further by an IAM condition (e.g. a metric namespace)."""

    condition: dict[str, Any] = field(default_factory=dict)

    def render(self, arn: Callable[[Arn], Any]) -> dict[str, Any]:
        return {**super().render(arn), "Condition": self.condition}


@dataclass(frozen=True, kw_only=True)
class AwsOnly(Resource):
    """A resource that only the CloudFormation template creates."""

    def ensure(self, target: DeployTarget) -> Change:
        raise ConfigError(
            f"{self.kind} {self.name} exists on AWS only; `fraudstack deploy --target aws` creates it "
            "through CloudFormation"
        )
