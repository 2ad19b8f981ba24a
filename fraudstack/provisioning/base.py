"""The framework every provisioned resource is built on.

A :class:`Resource` knows how to

* **ensure** itself on a target through the AWS API, idempotently, reporting whether it
  was ``created``, ``updated`` or left ``unchanged`` (so a second deploy says so), and
* **render** itself as CloudFormation resources (:meth:`Resource.to_cfn`).

Resources refer to each other through :class:`Arn` values, which resolve to a literal ARN
when deploying through the API (:meth:`DeployTarget.resolve`) and to ``Ref``/``Fn::GetAtt``
in a template (giving CloudFormation its dependency order for free). IAM permissions are
:class:`Statement` values over those ARNs, so one policy renders both ways.

Adding a resource type (a Lambda function, a Glue job, a state machine, a log group):
subclass :class:`Resource`, set ``kind`` and ``cfn_type``, implement :meth:`Resource.ensure`
and :meth:`Resource.cfn_properties` (override :meth:`Resource.to_cfn` when one declared
resource needs several template resources), expose an ``arn`` property if others refer
to it, and give it a field of :class:`fraudstack.provisioning.declaration.Declaration`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from fraudstack.aws import client
from fraudstack.errors import ConfigError
from fraudstack.settings import Settings

POLICY_VERSION = "2012-10-17"


class Outcome(StrEnum):
    """What ensuring a resource did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Change:
    """The outcome of ensuring one resource, with what changed when it was updated."""

    resource: Resource
    outcome: Outcome
    detail: str = ""


@dataclass
class DeployTarget:
    """Where resources are ensured: an account and region reached with :func:`fraudstack.aws.client`."""

    settings: Settings
    account_id: str
    partition: str = "aws"
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """One cached boto3 client per service for the whole deploy."""
        if service not in self._clients:
            self._clients[service] = client(service, self.settings)
        return self._clients[service]

    def resolve(self, arn: Arn) -> str:
        """The literal ARN on this target."""
        return arn.pattern.format(
            partition=self.partition, region=self.settings.aws_region, account=self.account_id
        )


@dataclass(frozen=True)
class Arn:
    """An ARN as the API needs it (a pattern) and as a template writes it (an intrinsic)."""

    pattern: str  # placeholders: {partition}, {region}, {account}
    cfn: Any

    def join(self, suffix: str) -> Arn:
        """A child ARN, such as the objects under a bucket prefix."""
        return Arn(self.pattern + suffix, {"Fn::Join": ["", [self.cfn, suffix]]})


def regional_arn(service: str, resource: str, cfn: Any) -> Arn:
    return Arn(f"arn:{{partition}}:{service}:{{region}}:{{account}}:{resource}", cfn)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


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


@dataclass(frozen=True, kw_only=True)
class Resource(ABC):
    """One declared resource: its template logical id and its physical name."""

    logical_id: str
    name: str

    kind: ClassVar[str]
    cfn_type: ClassVar[str]

    @abstractmethod
    def ensure(self, target: DeployTarget) -> Change:
        """Make the resource exist on ``target`` exactly as declared; report what that took."""

    @abstractmethod
    def cfn_properties(self) -> dict[str, Any]:
        """The ``Properties`` of this resource in a CloudFormation template."""

    def to_cfn(self) -> dict[str, Any]:
        """Template resources (logical id -> definition) for this declared resource."""
        return {self.logical_id: {"Type": self.cfn_type, "Properties": self.cfn_properties()}}

    def _change(self, created: bool, updates: Iterable[str] = ()) -> Change:
        done = list(updates)
        if created:
            return Change(self, Outcome.CREATED)
        return Change(self, Outcome.UPDATED, ", ".join(done)) if done else Change(self, Outcome.UNCHANGED)


@dataclass(frozen=True)
class Statement:
    """One Allow statement: exact actions on exact resources (least privilege, no wildcards)."""

    actions: tuple[str, ...]
    resources: tuple[Arn, ...]

    def render(self, arn: Callable[[Arn], Any]) -> dict[str, Any]:
        return {
            "Effect": "Allow",
            "Action": list(self.actions),
            "Resource": [arn(resource) for resource in self.resources],
        }


@dataclass(frozen=True)
class ConditionalStatement(Statement):
    """A statement narrowed further by an IAM condition (e.g. a metric namespace)."""

    condition: dict[str, Any] = field(default_factory=dict)

    def render(self, arn: Callable[[Arn], Any]) -> dict[str, Any]:
        return {**super().render(arn), "Condition": self.condition}


def render_template(resources: Iterable[Resource], description: str) -> dict[str, Any]:
    """A CloudFormation template holding ``resources`` (what ``fraudstack infra render`` prints)."""
    body: dict[str, Any] = {}
    for resource in resources:
        for logical_id, definition in resource.to_cfn().items():
            if logical_id in body:
                raise ConfigError(f"two declared resources share the logical id {logical_id}")
            body[logical_id] = definition
    return {"AWSTemplateFormatVersion": "2010-09-09", "Description": description, "Resources": body}
