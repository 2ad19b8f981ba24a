"""The AWS template: the shared declaration plus the AWS-only resources, rendered as one.

Why assembled here: :func:`fraudstack.provisioning.declaration.declare` stays the single
declaration of what the pipeline needs (the emulator gets exactly that); this module adds
what only AWS has (the VPC, Redshift, Fargate services, alarms, the schedule) and the AWS
form of a few shared resources (the Lambda in the VPC with its code from a parameter, the
Glue jobs with their library and connection, the warehouse secret with a generated
password), each taken from its field of the :class:`~fraudstack.provisioning.declaration.Declaration`.
Every shared resource keeps its logical id, so the template and the local deploy list the
same things.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import yaml

from fraudstack.errors import ConfigError
from fraudstack.model.drift import BROKEN_PSI
from fraudstack.provisioning.aws import brokers, iam, parameters
from fraudstack.provisioning.aws.brokers import MskCluster
from fraudstack.provisioning.aws.containers import EcsCluster, FargateService, FargateTask
from fraudstack.provisioning.aws.dashboard import DashboardAccess, dashboard_url
from fraudstack.provisioning.aws.lambdas import LambdaLayer
from fraudstack.provisioning.aws.monitoring import Alarm, AlarmRule, Dashboard, LogGroup, Metric, ScheduleRule
from fraudstack.provisioning.aws.network import (
    HTTPS,
    KAFKA_PORTS,
    REDSHIFT_PORT,
    Egress,
    Network,
    SecurityGroup,
)
from fraudstack.provisioning.aws.parameters import Parameter
from fraudstack.provisioning.aws.warehouse import GlueConnection, RedshiftServerless, generated_secret
from fraudstack.provisioning.base import Change, DeployTarget, Resource, ref, render_template, sub
from fraudstack.provisioning.declaration import Declaration, declare
from fraudstack.provisioning.policies import read_secret
from fraudstack.provisioning.resources import Bucket, GlueJob, IamRole, LambdaFunction, StateMachine
from fraudstack.settings import Settings

DESCRIPTION = "fraudstack: real-time fraud detection pipeline (rendered by `fraudstack infra render`)"

#: Where ``fraudstack package`` puts the Glue library and wheels (the Glue role may read these only).
GLUE_LIBRARY_PREFIX = "glue/lib/"
GLUE_WHEELS_PREFIX = "glue/wheels/"

#: Settings every container receives, as compose passes them (tests/provisioning/aws keeps both in step).
CONTAINER_SETTINGS: tuple[str, ...] = (
    "kafka_partitions",
    "topic_transactions",
    "topic_dead_letter",
    "topic_decisions",
    "topic_shadow_scores",
    "bucket",
    "artifacts_bucket",
    "kinesis_stream",
    "kinesis_shards",
    "firehose_stream",
    "firehose_buffer_mb",
    "firehose_buffer_seconds",
    "sns_topic",
    "ops_topic",
    "alert_sender",
    "warehouse_secret_name",
)
#: Where tasks keep local state (Fargate's writable scratch space).
CONTAINER_STATE_DIR = "/tmp/fraudstack"  # noqa: S108 - per-task ephemeral storage, not shared

#: The compose services that run on Fargate, with their commands (``fraudstack <command>``).
#: ``profiles`` is the entity-profile aggregator the scorers read (docs/streaming-scorer.md).
SERVICES: dict[str, str] = {"bridge": "bridge", "scorer": "score", "profiles": "profiles"}
#: The dashboard's container port (compose publishes the same port) and command.
DASHBOARD_PORT = 8501
DASHBOARD_COMMAND = ("fraudstack", "dashboard", "--host", "0.0.0.0", "--port", str(DASHBOARD_PORT))  # noqa: S104 - behind the load balancer
#: The one-off task ``fraudstack deploy`` runs in the VPC to migrate the warehouse.
MIGRATE_COMMAND = ("fraudstack", "warehouse", "migrate")


@dataclass(frozen=True, kw_only=True)
class AwsForm(Resource):
    """A shared declared resource in its AWS form: same logical id and name, AWS-only properties.

    ``ensure`` deploys the shared form, so a local deploy of an AWS declaration still works.
    """

    shared: Resource
    properties: dict[str, Any]
    depends_on: tuple[str, ...] = ()  # logical ids no property refers to but creation needs

    kind = "aws-form"

    @property  # the shared resource's type, per instance
    def cfn_type(self) -> str:  # type: ignore[override]
        return self.shared.cfn_type

    def ensure(self, target: DeployTarget) -> Change:
        return self.shared.ensure(target)

    def cfn_properties(self) -> dict[str, Any]:
        return self.properties

    def to_cfn(self) -> dict[str, Any]:
        body = super().to_cfn()
        if self.depends_on:
            body[self.logical_id]["DependsOn"] = list(self.depends_on)
        return body


@dataclass(frozen=True)
class AwsDeclaration:
    """What the AWS template holds: resources in dependency order and the parameters they use.

    ``shared`` is the declaration it extends; the other fields name the resources the
    template's outputs describe.
    """

    resources: tuple[Resource, ...]
    parameters: tuple[Parameter, ...]
    shared: Declaration
    network: Network
    warehouse: RedshiftServerless
    kafka_clients: tuple[FargateService, ...]  # the long-running services that reach the brokers
    tasks: tuple[FargateTask, ...]  # one-off tasks the deploy runs

    def artifact_parameters(self) -> dict[str, str]:
        """Parameter name -> logical id of the Lambda/Glue resource whose code key it holds."""
        pipeline = self.shared.pipeline
        return {
            parameters.code_key(r.logical_id).name: r.logical_id
            for r in (*pipeline.jobs, pipeline.alert_handler)
        }


def lake_lifecycle(settings: Settings) -> dict[str, Any]:
    """Raw data ages into cheaper storage, then expires; rejected and staging files go sooner.

    Raw objects are kept a year (the curated Parquet and the warehouse hold the history);
    Firehose errors 90 days; files staged for a warehouse load a week.
    """
    return {
        "Rules": [
            {
                "Id": "raw-tiering",
                "Status": "Enabled",
                "Prefix": settings.raw_prefix,
                "Transitions": [
                    {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
                    {"StorageClass": "GLACIER_IR", "TransitionInDays": 90},
                ],
                "ExpirationInDays": 365,
            },
            {
                "Id": "delivery-errors",
                "Status": "Enabled",
                "Prefix": settings.raw_error_prefix,
                "ExpirationInDays": 90,
            },
            {
                "Id": "warehouse-staging",
                "Status": "Enabled",
                "Prefix": settings.warehouse_staging_prefix,
                "ExpirationInDays": 7,
            },
            {
                "Id": "incomplete-uploads",
                "Status": "Enabled",
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            },
        ]
    }


def container_environment(settings: Settings) -> tuple[tuple[str, Any], ...]:
    """The settings contract of the Fargate containers (the compose app environment, on AWS)."""
    fixed: tuple[tuple[str, Any], ...] = (
        ("FRAUDSTACK_TARGET", "aws"),
        ("FRAUDSTACK_STATE_DIR", CONTAINER_STATE_DIR),
        ("KAFKA_BOOTSTRAP_SERVERS", ref(parameters.KAFKA_BOOTSTRAP_SERVERS.name)),
        ("FRAUDSTACK_KAFKA_SECURITY_PROTOCOL", ref(parameters.KAFKA_SECURITY_PROTOCOL.name)),
        ("AWS_REGION", ref("AWS::Region")),
    )
    return fixed + tuple(
        (f"FRAUDSTACK_{field.upper()}", str(getattr(settings, field))) for field in CONTAINER_SETTINGS
    )


#: Container settings a Glue job does without: its scratch space is Glue's, and it reads no Kafka.
_NOT_FOR_JOBS = {"FRAUDSTACK_STATE_DIR", "KAFKA_BOOTSTRAP_SERVERS", "FRAUDSTACK_KAFKA_SECURITY_PROTOCOL"}


def job_settings_arguments(settings: Settings, copy_role: IamRole) -> dict[str, Any]:
    """The containers' settings contract as Glue job arguments (``--FRAUDSTACK_BUCKET value``...),
    plus what only the jobs need: the role Redshift's COPY assumes to read their staged rows.

    Values may be intrinsics (the region, the role's ARN): CloudFormation resolves them.
    """
    arguments = {
        f"--{name}": value for name, value in container_environment(settings) if name not in _NOT_FOR_JOBS
    }
    arguments["--FRAUDSTACK_WAREHOUSE_COPY_ROLE_ARN"] = copy_role.arn.cfn
    return arguments


def declare_aws(settings: Settings) -> AwsDeclaration:
    """The shared declaration for ``settings`` (target aws) plus everything only AWS has."""
    if settings.is_local:
        raise ConfigError(
            "the AWS template is rendered from the aws target's settings (FRAUDSTACK_TARGET=aws)"
        )
    shared = declare(settings)
    lake, artifacts, stream, alerts = shared.lake, shared.artifacts, shared.stream, shared.alerts
    handler, jobs = shared.pipeline.alert_handler, shared.pipeline.jobs
    prefix = settings.aws_name_prefix

    network = Network(logical_id="Network", name=f"{prefix}-vpc")
    vpc_cidr = network.cidr
    warehouse_sg = SecurityGroup(
        logical_id="WarehouseSecurityGroup",
        name=f"{prefix}-warehouse",
        network=network,
        description="Redshift: inbound only from the components that query it",
    )
    to_endpoints = Egress((HTTPS, HTTPS), "0.0.0.0/0", "AWS APIs via the VPC endpoints (no route elsewhere)")
    to_warehouse = Egress((REDSHIFT_PORT, REDSHIFT_PORT), warehouse_sg, "Redshift")
    to_kafka = Egress(KAFKA_PORTS, vpc_cidr, "Kafka brokers in this VPC")
    glue_sg = SecurityGroup(
        logical_id="GlueSecurityGroup",
        name=f"{prefix}-glue",
        network=network,
        description="Glue jobs: AWS APIs, Redshift, and each other",
        egress=(to_endpoints, to_warehouse),
        self_ingress=True,
    )
    lambda_sg = SecurityGroup(
        logical_id="AlertHandlerSecurityGroup",
        name=f"{prefix}-alert-handler",
        network=network,
        description="Alert Lambda: AWS APIs and Redshift",  # a new description replaces the named group
        egress=(Egress((HTTPS, HTTPS), "0.0.0.0/0", "AWS APIs: VPC endpoints, SES via NAT"), to_warehouse),
    )
    kafka_sg = SecurityGroup(
        logical_id="KafkaSecurityGroup",
        name=f"{prefix}-kafka",
        network=network,
        description="MSK brokers: inbound only from the Kafka clients of this stack",
    )
    to_brokers = Egress(KAFKA_PORTS, kafka_sg, "the stack's MSK brokers")
    service_sgs = {
        component: SecurityGroup(
            logical_id=f"{component.capitalize()}SecurityGroup",
            name=f"{prefix}-{component}",
            network=network,
            description=f"{component}: Kafka and AWS APIs",
            egress=(to_endpoints, to_kafka, to_brokers),
        )
        for component in SERVICES
    }
    producer_sg = SecurityGroup(
        logical_id="ProducerSecurityGroup",
        name=f"{prefix}-producer",
        network=network,
        description="fraudstack produce as a one-off task (docs/deploy-aws.md): Kafka and AWS APIs",
        egress=(to_endpoints, to_kafka, to_brokers),
    )
    migrate_sg = SecurityGroup(
        logical_id="MigrateTaskSecurityGroup",
        name=f"{prefix}-migrate",
        network=network,
        description="Warehouse migration task: Redshift and AWS APIs",
        egress=(to_endpoints, to_warehouse),
    )
    dashboard_sg = SecurityGroup(
        logical_id="DashboardSecurityGroup",
        name=f"{prefix}-dashboard",
        network=network,
        description="Dashboard: inbound from its load balancer only; Redshift and AWS APIs",
        egress=(to_endpoints, to_warehouse),
    )
    balancer_sg = SecurityGroup(
        logical_id="DashboardLoadBalancerSecurityGroup",
        name=f"{prefix}-dashboard-lb",
        network=network,
        description="Dashboard load balancer: HTTPS in; the dashboard tasks and Cognito out",
        egress=(
            Egress((DASHBOARD_PORT, DASHBOARD_PORT), dashboard_sg, "the dashboard tasks"),
            Egress((HTTPS, HTTPS), "0.0.0.0/0", "Cognito token and user-info endpoints"),
        ),
    )
    kafka = MskCluster(
        logical_id="KafkaCluster", name=f"{prefix}-kafka", network=network, security_group=kafka_sg
    )

    workgroup = f"{prefix}-warehouse"
    secret = generated_secret(shared.warehouse, settings, workgroup)
    copy_role = iam.copy_role("WarehouseCopyRole", f"{prefix}-warehouse-copy", settings, lake)
    redshift = RedshiftServerless(
        logical_id="Warehouse",
        name=f"{prefix}-warehouse",
        secret=secret,
        network=network,
        security_group=warehouse_sg,
        copy_role=copy_role,
    )
    connection = GlueConnection(
        logical_id="WarehouseConnection",
        name=f"{prefix}-warehouse",
        secret=secret,
        warehouse=redshift,
        network=network,
        security_group=glue_sg,
    )

    layer = LambdaLayer(
        logical_id="LambdaDependencies", name=f"{prefix}-lambda-dependencies", bucket=artifacts.name
    )
    aws_forms: dict[str, Resource] = {
        secret.logical_id: secret,
        lake.logical_id: AwsForm(
            logical_id=lake.logical_id,
            name=lake.name,
            shared=lake,
            properties={**lake.cfn_properties(), "LifecycleConfiguration": lake_lifecycle(settings)},
        ),
        # Raw JSON lines compress ~10x; Spark reads the .gz objects Firehose writes as they are.
        # Locally the emulator's delivery stays uncompressed, which is easier to inspect.
        shared.delivery.logical_id: replace(shared.delivery, compression="GZIP"),
        handler.logical_id: _alert_handler_form(handler, artifacts, layer, network, lambda_sg),
        **{job.logical_id: _glue_job_form(job, settings, artifacts, copy_role, connection) for job in jobs},
    }
    additions: list[Resource] = [
        layer,
        LogGroup(logical_id=f"{handler.logical_id}Logs", name=f"/aws/lambda/{handler.name}"),
        iam.RolePolicy(
            logical_id=f"{handler.logical_id}VpcPolicy",
            name="vpc-and-metrics",
            role=handler.role,
            statements=(iam.network_interfaces(), iam.put_metrics(settings)),
        ),
        *(_glue_connection_policy(job.role, settings, artifacts, connection) for job in jobs),
        iam.RolePolicy(
            logical_id=f"{shared.pipeline.drift.logical_id}MetricsPolicy",
            name="drift-metrics",
            role=shared.pipeline.drift.role,
            statements=(iam.put_metrics(settings),),
        ),
    ]
    used_parameters: list[Parameter] = [
        parameters.GLUE_LIBRARY_KEY,
        parameters.GLUE_MODULES,
        parameters.LAMBDA_LAYER_KEY,
        *(parameters.code_key(resource.logical_id) for resource in (handler, *jobs)),
    ]

    cluster = EcsCluster(logical_id="ServicesCluster", name=f"{prefix}-services")
    log_groups = {
        component: LogGroup(logical_id=f"{component.capitalize()}Logs", name=f"/{prefix}/{component}")
        for component in (*SERVICES, "dashboard", "migrate")
    }
    execution = iam.execution_role(
        "ServicesExecutionRole", f"{prefix}-ecs-execution", tuple(log_groups.values())
    )
    task_statements = {
        "bridge": iam.bridge_statements(settings, stream, lake),
        "scorer": iam.scorer_statements(settings, artifacts, alerts),
        "profiles": iam.profiles_statements(settings),
    }
    services: list[Resource] = [cluster, *log_groups.values(), execution]
    kafka_clients: list[FargateService] = []
    for component, command in SERVICES.items():
        role = iam.task_role(
            f"{component.capitalize()}TaskRole", f"{prefix}-{component}", task_statements[component]
        )
        kafka_clients.append(
            FargateService(
                logical_id=f"{component.capitalize()}Service",
                name=f"{prefix}-{component}",
                cluster=cluster,
                network=network,
                security_group=service_sgs[component],
                task_role=role,
                execution_role=execution,
                command=("fraudstack", command),
                environment=container_environment(settings),
                log_group=log_groups[component].name,
            )
        )
        services += [role, kafka_clients[-1]]

    balancer = DashboardAccess(
        logical_id="DashboardLoadBalancer",
        name=f"{prefix}-dashboard",
        network=network,
        security_group=balancer_sg,
        port=DASHBOARD_PORT,
    )
    dashboard_role = iam.task_role(
        "DashboardTaskRole", f"{prefix}-dashboard", iam.dashboard_statements(secret, artifacts)
    )
    services += [
        balancer,
        dashboard_role,
        FargateService(
            logical_id="DashboardService",
            name=f"{prefix}-dashboard",
            cluster=cluster,
            network=network,
            security_group=dashboard_sg,
            task_role=dashboard_role,
            execution_role=execution,
            command=DASHBOARD_COMMAND,
            environment=container_environment(settings),
            log_group=log_groups["dashboard"].name,
            port=DASHBOARD_PORT,
            load_balancer=balancer,
        ),
    ]

    migrate_role = iam.task_role("MigrateTaskRole", f"{prefix}-migrate", (read_secret(secret),))
    migrate = FargateTask(
        logical_id="MigrateTask",
        name=f"{prefix}-migrate",
        cluster=cluster,
        network=network,
        security_group=migrate_sg,
        task_role=migrate_role,
        execution_role=execution,
        command=MIGRATE_COMMAND,
        environment=container_environment(settings),
        log_group=log_groups["migrate"].name,
    )
    services += [migrate_role, migrate]

    monitoring = _monitoring(settings, shared, prefix)
    resources = [
        *(aws_forms.get(r.logical_id, r) for r in shared),
        network,
        warehouse_sg,
        glue_sg,
        lambda_sg,
        kafka_sg,
        *service_sgs.values(),
        producer_sg,
        dashboard_sg,
        balancer_sg,
        migrate_sg,
        kafka,
        copy_role,
        redshift,
        connection,
        *additions,
        *services,
        *monitoring,
        *_schedule(shared.pipeline.machine),
        *_retraining_triggers(shared.pipeline.retraining_machine, prefix),
    ]
    used_parameters += [
        parameters.CREATE_KAFKA_CLUSTER,
        parameters.KAFKA_INSTANCE_TYPE,
        parameters.KAFKA_SECURITY_PROTOCOL,
        parameters.KAFKA_BOOTSTRAP_SERVERS,
        parameters.CONTAINER_REPOSITORY,
        parameters.CONTAINER_TAG,
        parameters.SERVICE_COUNT,
        parameters.DASHBOARD_DOMAIN,
        parameters.DASHBOARD_CERTIFICATE,
        parameters.DASHBOARD_CLIENTS,
    ]
    used_parameters += [
        parameters.PIPELINE_SCHEDULE,
        parameters.RETRAINING_SCHEDULE,
        parameters.PIPELINE_SCHEDULE_STATE,
    ]
    return AwsDeclaration(
        resources=tuple(resources),
        parameters=tuple(used_parameters),
        shared=shared,
        network=network,
        warehouse=redshift,
        kafka_clients=tuple(kafka_clients),
        tasks=(migrate,),
    )


def _alert_handler_form(
    function: LambdaFunction, artifacts: Bucket, layer: LambdaLayer, network: Network, group: SecurityGroup
) -> AwsForm:
    """The alert Lambda on AWS: code from a parameter's key, in the VPC, dependencies from the layer."""
    key = parameters.code_key(function.logical_id)
    properties = function.cfn_properties()
    return AwsForm(
        logical_id=function.logical_id,
        name=function.name,
        shared=function,
        properties={
            **properties,
            "Code": {"S3Bucket": artifacts.name, "S3Key": ref(key.name)},
            # The alert e-mails link the dashboard behind its load balancer.
            "Environment": {
                "Variables": {
                    **properties["Environment"]["Variables"],
                    "FRAUDSTACK_DASHBOARD_URL": dashboard_url(),
                }
            },
            # The egress subnets: SES has no VPC endpoint in most regions (see aws/network.py).
            "VpcConfig": {"SubnetIds": network.egress_subnet_ids, "SecurityGroupIds": [group.group_id]},
            "Layers": [ref(layer.logical_id)],
        },
        # Lambda checks the role's network-interface rights when the function is created,
        # and the log group must exist before the function's first log line creates it.
        depends_on=(f"{function.logical_id}VpcPolicy", f"{function.logical_id}Logs"),
    )


def _glue_job_form(
    job: GlueJob, settings: Settings, artifacts: Bucket, copy_role: IamRole, connection: GlueConnection
) -> AwsForm:
    """A Glue job on AWS: script and library from parameters' keys, wheels from S3, in the VPC."""
    key = parameters.code_key(job.logical_id)
    properties = job.cfn_properties()
    return AwsForm(
        logical_id=job.logical_id,
        name=job.name,
        shared=job,
        properties={
            **properties,
            "Command": {
                **properties["Command"],
                "ScriptLocation": sub(f"s3://{artifacts.name}/${{{key.name}}}"),
            },
            "DefaultArguments": {
                **properties.get("DefaultArguments", {}),
                "--extra-py-files": sub(f"s3://{artifacts.name}/${{{parameters.GLUE_LIBRARY_KEY.name}}}"),
                # Wheels from S3 and no index: the jobs' subnets have no route to PyPI.
                "--additional-python-modules": ref(parameters.GLUE_MODULES.name),
                "--python-modules-installer-option": "--no-index",
                # Glue has no per-job environment: the settings travel as job arguments.
                **job_settings_arguments(settings, copy_role),
            },
            "Connections": {"Connections": [connection.name]},
        },
    )


def _glue_connection_policy(
    role: IamRole, settings: Settings, artifacts: Bucket, connection: GlueConnection
) -> iam.RolePolicy:
    """What a Glue job's role adds on AWS: the library and wheels, the connection, Glue's metrics."""
    return iam.RolePolicy(
        logical_id=f"{role.logical_id}ConnectionPolicy",
        name="library-and-connection",
        role=role,
        statements=(
            *iam.glue_connection_statements(
                connection.name, artifacts, (GLUE_LIBRARY_PREFIX, GLUE_WHEELS_PREFIX)
            ),
            # The job metrics --enable-metrics asks for (Glue publishes them with the job's role).
            iam.put_metrics(settings, iam.GLUE_METRICS_NAMESPACE),
        ),
    )


@dataclass(frozen=True)
class _Alarm:
    """When to notify the ops topic about a watched metric (5-minute periods unless ``period_s``)."""

    logical_id: str
    name: str
    description: str
    comparison: str
    threshold: float
    periods: int = 1
    missing_data: str = "notBreaching"
    period_s: int = 300


def drift_alarm_names(prefix: str) -> tuple[str, str]:
    """The feature and score drift alarms' names (the retraining rule listens to their state)."""
    return f"{prefix}-feature-drift", f"{prefix}-score-drift"


#: The drift job runs once per pipeline run (hourly): an hour's period holds one datum, and
#: a run that published nothing (no model yet) leaves the alarm where it was.
DRIFT_PERIOD_S = 3600


def _monitoring(settings: Settings, shared: Declaration, prefix: str) -> list[Resource]:
    """Alarms (pipeline failure, streaming and delivery lag, no data) and the dashboard of their metrics.

    Each watched metric is a graph on the dashboard, in this order, and an alarm when it has one.
    """
    namespace = settings.metrics_namespace
    delivery, machine, handler = shared.delivery, shared.pipeline.machine, shared.pipeline.alert_handler
    watched: tuple[tuple[str, Metric, _Alarm | None], ...] = (
        (
            "Transactions into Kinesis",
            Metric("AWS/Kinesis", "IncomingRecords", (("StreamName", shared.stream.name),)),
            _Alarm(
                "NoDataAlarm",
                f"{prefix}-no-transactions",
                "No transaction reached Kinesis for 15 minutes: producer or bridge down",
                "LessThanThreshold",
                1,
                periods=3,
                missing_data="breaching",
            ),
        ),
        (
            "Bridge end-to-end latency (ms)",
            Metric(namespace, "EndToEndLatency", (("Service", "bridge"),), "Maximum"),
            _Alarm(
                "BridgeLagAlarm",
                f"{prefix}-bridge-lag",
                "Kafka-to-Kinesis latency above 60 s for 10 minutes: the bridge is falling behind",
                "GreaterThanThreshold",
                60_000,
                periods=2,
            ),
        ),
        (
            "Scorer consumer lag (ms)",
            Metric(namespace, "ConsumerLag", (("Service", "scorer"),), "Maximum"),
            _Alarm(
                "ScorerLagAlarm",
                f"{prefix}-scorer-lag",
                "Scorer consumer lag above 30 s for 10 minutes: decisions are late",
                "GreaterThanThreshold",
                30_000,
                periods=2,
            ),
        ),
        ("Scorer alerts", Metric(namespace, "Alerts", (("Service", "scorer"),)), None),
        (
            "Firehose delivery freshness (s)",
            Metric(
                "AWS/Firehose",
                "DeliveryToS3.DataFreshness",
                (("DeliveryStreamName", delivery.name),),
                "Maximum",
            ),
            _Alarm(
                f"{delivery.logical_id}LagAlarm",
                f"{delivery.name}-lag",
                "Records wait over 15 minutes for delivery to the lake: S3 writes are failing",
                "GreaterThanThreshold",
                900,
                periods=2,
            ),
        ),
        (
            "Pipeline runs failed",
            Metric("AWS/States", "ExecutionsFailed", (("StateMachineArn", machine.arn.cfn),)),
            _Alarm(
                f"{machine.logical_id}FailedAlarm",
                f"{machine.name}-failed",
                "A batch pipeline run (ETL, inference, alerts) failed",
                "GreaterThanOrEqualToThreshold",
                1,
            ),
        ),
        (
            "Highest feature drift (PSI, last day)",
            Metric(namespace, "MaxFeaturePSI", (("Service", "drift"),), "Maximum"),
            _Alarm(
                "FeatureDriftAlarm",
                drift_alarm_names(prefix)[0],
                "A feature of the last day's traffic drifted to PSI >= 0.25 against the current "
                "model's training reference: a broken feature pipeline or data the model was not "
                "trained for (starts the retraining state machine)",
                "GreaterThanOrEqualToThreshold",
                BROKEN_PSI,
                period_s=DRIFT_PERIOD_S,
            ),
        ),
        (
            "Score drift (PSI, last day)",
            Metric(namespace, "ScorePSI", (("Service", "drift"),), "Maximum"),
            _Alarm(
                "ScoreDriftAlarm",
                drift_alarm_names(prefix)[1],
                "The score distribution of the last day drifted to PSI >= 0.25 against the "
                "model's test window: its alert rate is no longer the one it was trained for "
                "(starts the retraining state machine)",
                "GreaterThanOrEqualToThreshold",
                BROKEN_PSI,
                period_s=DRIFT_PERIOD_S,
            ),
        ),
        (
            "Alert handler errors",
            Metric("AWS/Lambda", "Errors", (("FunctionName", handler.name),)),
            _Alarm(
                f"{handler.logical_id}ErrorsAlarm",
                f"{handler.name}-errors",
                "The alert handler failed: fraud alerts may not go out",
                "GreaterThanOrEqualToThreshold",
                1,
            ),
        ),
    )
    alarms: list[Resource] = [
        Alarm(
            logical_id=alarm.logical_id,
            name=alarm.name,
            description=alarm.description,
            metric=metric,
            threshold=alarm.threshold,
            comparison=alarm.comparison,
            notify=shared.ops.arn,
            periods=alarm.periods,
            missing_data=alarm.missing_data,
            period_s=alarm.period_s,
        )
        for _, metric, alarm in watched
        if alarm is not None
    ]
    widgets = tuple((title, metric) for title, metric, _ in watched)
    return [*alarms, Dashboard(logical_id="Dashboard", name=prefix, widgets=widgets)]


def _schedule(machine: StateMachine) -> list[Resource]:
    """The EventBridge rule that starts the batch pipeline, and the role it starts it with."""
    role = iam.schedule_role(f"{machine.logical_id}ScheduleRole", f"{machine.name}-schedule", machine.arn)
    return [
        role,
        ScheduleRule(
            logical_id=f"{machine.logical_id}Schedule",
            name=f"{machine.name}-schedule",
            schedule=ref(parameters.PIPELINE_SCHEDULE.name),
            state_machine=machine.arn,
            role=role,
        ),
    ]


def _retraining_triggers(machine: StateMachine, prefix: str) -> list[Resource]:
    """What starts retraining: a schedule, and either drift alarm going into ALARM."""
    role = iam.schedule_role(f"{machine.logical_id}TriggerRole", f"{machine.name}-trigger", machine.arn)
    return [
        role,
        ScheduleRule(
            logical_id=f"{machine.logical_id}Schedule",
            name=f"{machine.name}-schedule",
            schedule=ref(parameters.RETRAINING_SCHEDULE.name),
            state_machine=machine.arn,
            role=role,
            description="Starts retraining (build, train, evaluate, gate) on a schedule",
            target_id="retraining",
        ),
        AlarmRule(
            logical_id=f"{machine.logical_id}OnDrift",
            name=f"{machine.name}-on-drift",
            alarms=drift_alarm_names(prefix),
            state_machine=machine.arn,
            role=role,
            description="Starts retraining when a drift alarm (feature or score PSI) goes into ALARM",
        ),
    ]


def default_settings() -> Settings:
    """The aws target with every other setting at its default: what ``infra/fraudstack.yaml`` holds.

    Built without reading the environment or ``.env``, so the checked-in render is the same
    on every machine.
    """
    return Settings.model_construct(target="aws")


#: What holds data the stack cannot recreate: the lake and the model registry, the stream's
#: unread records, the warehouse and its credentials. Deleting the stack, or an update that
#: replaces one of them, leaves the old one in place (docs/deploy-aws.md: tearing down).
RETAINED = ("LakeBucket", "ArtifactsBucket", "TransactionsStream", "WarehouseSecret", "Warehouse")


def render(settings: Settings) -> dict[str, Any]:
    """The CloudFormation template of the AWS target, as a dict."""
    declaration = declare_aws(settings)
    template = render_template(declaration.resources, DESCRIPTION)
    for logical_id in RETAINED:
        template["Resources"][logical_id].update(DeletionPolicy="Retain", UpdateReplacePolicy="Retain")
    template["Parameters"] = {p.name: p.to_cfn() for p in declaration.parameters}
    template["Conditions"] = brokers.conditions()
    network, warehouse = declaration.network, declaration.warehouse
    template["Outputs"] = {
        "LakeBucket": {"Value": settings.bucket},
        "TransactionsStream": {"Value": settings.kinesis_stream},
        "WarehouseSecret": {"Value": ref(warehouse.secret.logical_id)},
        "WarehouseEndpoint": {"Value": sub(warehouse.secret.host)},
        "VpcId": {"Value": network.vpc_id},
        "PrivateSubnets": {"Value": {"Fn::Join": [",", network.subnet_ids]}},
        "KafkaClientSecurityGroups": {
            "Description": "Allow these in the Kafka brokers' security group (TCP 9092-9098)",
            "Value": {
                "Fn::Join": [
                    ",",
                    [
                        *(service.security_group.group_id for service in declaration.kafka_clients),
                        {"Fn::GetAtt": ["ProducerSecurityGroup", "GroupId"]},
                    ],
                ]
            },
        },
        "ProducerSecurityGroup": {
            "Description": "Run `fraudstack produce` as a one-off task with this group (docs/deploy-aws.md)",
            "Value": {"Fn::GetAtt": ["ProducerSecurityGroup", "GroupId"]},
        },
        "KafkaCluster": {
            "Description": "ARN of the stack's MSK cluster (kafka:GetBootstrapBrokers gives its brokers)",
            "Condition": brokers.CREATE_CLUSTER,
            "Value": ref("KafkaCluster"),
        },
        "ServicesCluster": {"Value": ref("ServicesCluster")},
        "DashboardLoadBalancer": {
            "Description": "Point DashboardDomainName at this name (CNAME, or a Route 53 alias)",
            "Value": {"Fn::GetAtt": ["DashboardLoadBalancer", "DNSName"]},
        },
        "DashboardUserPool": {
            "Description": "Create the analysts' users here (aws cognito-idp admin-create-user)",
            "Value": ref("DashboardLoadBalancerUsers"),
        },
        **{key: value for task in declaration.tasks for key, value in task.outputs().items()},
    }
    return {
        key: template[key]
        for key in (
            "AWSTemplateFormatVersion",
            "Description",
            "Parameters",
            "Conditions",
            "Resources",
            "Outputs",
        )
    }


def to_yaml(template: dict[str, Any]) -> str:
    """Stable YAML (declaration order kept, no aliases) for the checked-in template."""

    class _Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(template, Dumper=_Dumper, sort_keys=False, width=120, default_flow_style=False)
