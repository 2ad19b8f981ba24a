"""The long-running services on ECS Fargate: the Kafka bridge, the streaming scorer, the profile aggregator.

Why Fargate with the compose image: the containers run exactly what ``docker compose``
runs (same image, same command, same environment contract), only with the AWS target's
settings; there are no hosts to patch and the tasks sit in the private subnets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fraudstack.provisioning.aws import parameters
from fraudstack.provisioning.aws.base import AwsOnly
from fraudstack.provisioning.aws.dashboard import DashboardAccess
from fraudstack.provisioning.aws.network import Network, SecurityGroup
from fraudstack.provisioning.base import ref, sub
from fraudstack.provisioning.resources import IamRole


def image_uri() -> dict[str, str]:
    """The image URI in the account's ECR, from the repository and tag parameters."""
    return sub(
        "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/"
        f"${{{parameters.CONTAINER_REPOSITORY.name}}}:${{{parameters.CONTAINER_TAG.name}}}"
    )


@dataclass(frozen=True, kw_only=True)
class EcsCluster(AwsOnly):
    """The cluster the services run in (Fargate only: no instances)."""

    kind = "ecs-cluster"
    cfn_type = "AWS::ECS::Cluster"

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "ClusterName": self.name,
            "CapacityProviders": ["FARGATE"],
            "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}],
        }


@dataclass(frozen=True, kw_only=True)
class FargateService(AwsOnly):
    """One container service: task definition, log group and service.

    ``environment`` holds the settings contract (values may be template intrinsics);
    ``command`` is the compose service's command.
    """

    cluster: EcsCluster
    network: Network
    security_group: SecurityGroup
    task_role: IamRole
    execution_role: IamRole
    command: tuple[str, ...]
    environment: tuple[tuple[str, Any], ...]
    log_group: str
    cpu: int = 512
    memory_mb: int = 1024
    port: int | None = None  # the container port a load balancer forwards to
    load_balancer: DashboardAccess | None = None

    kind = "ecs-service"
    cfn_type = "AWS::ECS::Service"

    @property
    def task_definition(self) -> str:
        return f"{self.logical_id}TaskDefinition"

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "ServiceName": self.name,
            "Cluster": ref(self.cluster.logical_id),
            "TaskDefinition": ref(self.task_definition),
            "LaunchType": "FARGATE",
            # 0 when the stack is created: the tasks would crash-loop until the brokers and a model
            # exist; fraudstack deploy raises it after the bootstrap (fraudstack.provisioning.aws.bootstrap).
            "DesiredCount": ref(parameters.SERVICE_COUNT.name),
            # A consumer group member at a time per task; a rolling deploy may briefly overlap.
            # A deployment whose tasks keep failing stops and rolls back instead of retrying forever.
            "DeploymentConfiguration": {
                "MinimumHealthyPercent": 0,
                "MaximumPercent": 200,
                "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
            },
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "AssignPublicIp": "DISABLED",
                    "Subnets": self.network.subnet_ids,
                    "SecurityGroups": [self.security_group.group_id],
                }
            },
            **self._load_balancing(),
        }

    def _load_balancing(self) -> dict[str, Any]:
        if self.load_balancer is None:
            return {}
        return {
            "LoadBalancers": [
                {
                    "ContainerName": self.name,
                    "ContainerPort": self.port,
                    "TargetGroupArn": ref(self.load_balancer.target_group),
                }
            ],
            "HealthCheckGracePeriodSeconds": 120,  # Streamlit imports pandas and Altair first
        }

    def to_cfn(self) -> dict[str, Any]:
        body = {self.task_definition: self._task_definition(), **super().to_cfn()}
        if self.load_balancer is not None:
            # ECS refuses a target group that no listener attaches to a load balancer yet.
            body[self.logical_id]["DependsOn"] = [self.load_balancer.listener]
        return body

    def _task_definition(self) -> dict[str, Any]:
        container = {
            "Name": self.name,
            "Image": image_uri(),
            "Command": list(self.command),
            "Essential": True,
            **({"PortMappings": [{"ContainerPort": self.port, "Protocol": "tcp"}]} if self.port else {}),
            "Environment": [{"Name": key, "Value": value} for key, value in self.environment],
            "LogConfiguration": {
                "LogDriver": "awslogs",
                "Options": {
                    "awslogs-group": self.log_group,
                    "awslogs-region": ref("AWS::Region"),
                    "awslogs-stream-prefix": self.name,
                },
            },
        }
        return {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": self.name,
                "RequiresCompatibilities": ["FARGATE"],
                "NetworkMode": "awsvpc",
                "Cpu": str(self.cpu),
                "Memory": str(self.memory_mb),
                "RuntimePlatform": {"OperatingSystemFamily": "LINUX", "CpuArchitecture": "X86_64"},
                "TaskRoleArn": self.task_role.arn.cfn,
                "ExecutionRoleArn": self.execution_role.arn.cfn,
                "ContainerDefinitions": [container],
            },
        }


@dataclass(frozen=True, kw_only=True)
class FargateTask(FargateService):
    """A task definition run once by ``fraudstack deploy`` (``ecs run-task``), never as a service.

    Why a task in the VPC: the bootstrap steps that need Redshift (the migrations) can only
    reach it from the private subnets. The template outputs the subnets and the security
    group, so the deploy starts it exactly where the template placed its network rules.
    """

    kind = "ecs-task"
    cfn_type = "AWS::ECS::TaskDefinition"

    @property
    def task_definition(self) -> str:
        return self.logical_id

    def to_cfn(self) -> dict[str, Any]:
        return {self.logical_id: self._task_definition()}

    def outputs(self) -> dict[str, Any]:
        """What ``ecs run-task`` needs besides the cluster: where the task's interface goes."""
        return {
            self.logical_id: {"Value": ref(self.logical_id)},
            f"{self.logical_id}Subnets": {"Value": {"Fn::Join": [",", self.network.subnet_ids]}},
            f"{self.logical_id}SecurityGroups": {
                "Value": {"Fn::Join": [",", [self.security_group.group_id]]}
            },
        }
