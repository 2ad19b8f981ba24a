"""Template parameters: what changes per deploy without re-rendering the template.

Why parameters: artifact keys carry content hashes, and the container image and Kafka
address belong to the account. If they were baked in, the checked-in template would change
with every code edit; as parameters, ``fraudstack deploy --target aws`` fills them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Parameter:
    """One template parameter."""

    name: str
    description: str
    default: str | None = None
    kind: str = "String"
    allowed: tuple[str, ...] = ()

    def to_cfn(self) -> dict[str, Any]:
        body: dict[str, Any] = {"Type": self.kind, "Description": self.description}
        if self.default is not None:
            body["Default"] = self.default
        if self.allowed:
            body["AllowedValues"] = list(self.allowed)
        return body


KAFKA_BOOTSTRAP_SERVERS = Parameter(
    "KafkaBootstrapServers",
    "host:port,... of the Kafka brokers: the stack's MSK cluster's (fraudstack deploy reads them once "
    "it exists) or your own cluster's; empty until then",
    "",
)
CREATE_KAFKA_CLUSTER = Parameter(
    "CreateKafkaCluster",
    "true: the stack creates an MSK cluster (TLS, in the private subnets); false: bring your own and "
    "set KafkaBootstrapServers",
    "true",
    allowed=("true", "false"),
)
KAFKA_SECURITY_PROTOCOL = Parameter(
    "KafkaSecurityProtocol",
    "How the services talk to the brokers: SSL (the stack's MSK cluster) or PLAINTEXT (your own)",
    "SSL",
    allowed=("SSL", "PLAINTEXT"),
)
KAFKA_INSTANCE_TYPE = Parameter(
    "KafkaInstanceType", "Broker instance type of the stack's MSK cluster (three brokers)", "kafka.t3.small"
)
CONTAINER_REPOSITORY = Parameter(
    "ContainerRepository", "ECR repository holding the image built from this repo's Dockerfile", "fraudstack"
)
CONTAINER_TAG = Parameter(
    "ContainerImageTag", "Tag of that image to run (push it before deploying)", "latest"
)
SERVICE_COUNT = Parameter(
    "ServiceDesiredCount",
    "Tasks per long-running service: 0 until fraudstack deploy has bootstrapped what they need "
    "(brokers, a published model), which then sets 1; 0 stops them all",
    "0",
    "Number",
)
PIPELINE_SCHEDULE = Parameter(
    "PipelineSchedule", "EventBridge schedule expression that starts the batch pipeline", "rate(1 hour)"
)
RETRAINING_SCHEDULE = Parameter(
    "RetrainingSchedule",
    "EventBridge schedule expression that starts the retraining state machine (a drift alarm starts it too)",
    "rate(7 days)",
)
PIPELINE_SCHEDULE_STATE = Parameter(
    "PipelineScheduleState",
    "DISABLED until fraudstack deploy has migrated the warehouse and published a model, then ENABLED",
    "DISABLED",
    allowed=("ENABLED", "DISABLED"),
)
DASHBOARD_DOMAIN = Parameter(
    "DashboardDomainName",
    "Host name of the dashboard (point it at the DashboardLoadBalancer output); alert e-mails link "
    "https://<it>/ (FRAUDSTACK_DASHBOARD_URL)",
)
DASHBOARD_CERTIFICATE = Parameter(
    "DashboardCertificateArn", "ACM certificate for DashboardDomainName, in the stack's region"
)
DASHBOARD_CLIENTS = Parameter(
    "DashboardAllowedCidr",
    "Addresses allowed to reach the dashboard (Cognito sign-in still applies)",
    "0.0.0.0/0",
)
LAMBDA_LAYER_KEY = Parameter(
    "LambdaDependenciesKey",
    "Artifacts-bucket key of the Lambda dependencies layer zip (set by fraudstack deploy)",
)
GLUE_MODULES = Parameter(
    "GlueModules", "S3 URIs of the Glue jobs' dependency wheels, comma-separated (set by fraudstack deploy)"
)
GLUE_LIBRARY_KEY = Parameter(
    "GlueLibraryKey", "Artifacts-bucket key of the Glue --extra-py-files zip (set by fraudstack deploy)"
)


def code_key(logical_id: str) -> Parameter:
    """The artifact key parameter of one Lambda function or Glue job (set by fraudstack deploy)."""
    return Parameter(
        f"{logical_id}ArtifactKey", f"Artifacts-bucket key of {logical_id}'s code (set by fraudstack deploy)"
    )
