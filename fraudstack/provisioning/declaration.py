"""The one declaration of every AWS resource the pipeline needs, as a typed object.

Why one declaration: ``fraudstack deploy`` provisions the emulator from it
(:mod:`fraudstack.provisioning.local`) and the AWS template is rendered from it
(:mod:`fraudstack.provisioning.aws.template`), so the local stack and real AWS cannot drift
apart. :class:`Declaration` names each resource, so the template adds the AWS form of a
resource by its field, and iterating it yields every resource in dependency order (what a
deploy ensures, one after the other).

A new resource here shows up in the template after
``fraudstack infra render --defaults > infra/fraudstack.yaml`` (a test says when it is due).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import SecretStr

from fraudstack.identity import pipeline_names
from fraudstack.packagedata import data_file
from fraudstack.provisioning.base import Resource, Statement
from fraudstack.provisioning.packaging import EntryPoint
from fraudstack.provisioning.policies import (
    alert_handler_statements,
    drift_job_statements,
    firehose_statements,
    glue_statements,
    retraining_job_statements,
)
from fraudstack.provisioning.resources import (
    Bucket,
    FirehoseDeliveryStream,
    GlueJob,
    IamRole,
    KinesisStream,
    LambdaFunction,
    Secret,
    SesIdentity,
    SnsTopic,
    SqsQueue,
    StateMachine,
    Subscription,
)
from fraudstack.settings import Settings
from fraudstack.warehouse import secret


@dataclass(frozen=True)
class BatchPipeline:
    """The batch pipeline (three Glue jobs, the alert Lambda, its state machine) and retraining
    (a Glue job and its state machine), each with its role."""

    etl_role: IamRole
    etl: GlueJob
    inference_role: IamRole
    inference: GlueJob
    alert_role: IamRole
    alert_handler: LambdaFunction
    drift_role: IamRole
    drift: GlueJob
    machine_role: IamRole
    machine: StateMachine
    retraining_role: IamRole
    retraining: GlueJob
    retraining_machine_role: IamRole
    retraining_machine: StateMachine

    @property
    def jobs(self) -> tuple[GlueJob, ...]:
        return (self.etl, self.inference, self.drift, self.retraining)

    @property
    def resources(self) -> tuple[Resource, ...]:
        """In dependency order: each role before what assumes it."""
        return (
            self.etl_role,
            self.etl,
            self.inference_role,
            self.inference,
            self.alert_role,
            self.alert_handler,
            self.drift_role,
            self.drift,
            self.machine_role,
            self.machine,
            self.retraining_role,
            self.retraining,
            self.retraining_machine_role,
            self.retraining_machine,
        )


@dataclass(frozen=True)
class Declaration:
    """Every resource the pipeline needs, by name; iterating yields them in dependency order.

    The topic taps are SQS queues on local targets only (None on AWS).
    """

    lake: Bucket
    artifacts: Bucket
    stream: KinesisStream
    delivery_role: IamRole
    delivery: FirehoseDeliveryStream
    alerts_tap: SqsQueue | None
    ops_tap: SqsQueue | None
    alerts: SnsTopic
    ops: SnsTopic
    sender: SesIdentity
    warehouse: Secret
    pipeline: BatchPipeline

    @property
    def resources(self) -> tuple[Resource, ...]:
        taps = tuple(tap for tap in (self.alerts_tap, self.ops_tap) if tap is not None)
        return (
            self.lake,
            self.artifacts,
            self.stream,
            self.delivery_role,
            self.delivery,
            *taps,
            self.alerts,
            self.ops,
            self.sender,
            self.warehouse,
            *self.pipeline.resources,
        )

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)


def warehouse_secret_value(settings: Settings) -> SecretStr | None:
    """The warehouse connection as the secret consumers read (:func:`fraudstack.warehouse.secret.encode`).

    None when no password is known yet (no DSN, no ``FRAUDSTACK_WAREHOUSE_PASSWORD``, and
    ``stack up`` has not generated one).
    """
    if settings.warehouse_dsn is None and settings.resolved_warehouse_password() is None:
        return None
    return SecretStr(secret.encode(settings.warehouse_url()))


def _tap(settings: Settings, logical_id: str, queue_name: str) -> SqsQueue | None:
    """On local targets, a queue subscribed to a topic so tests can read what it published."""
    return SqsQueue(logical_id=logical_id, name=queue_name) if settings.is_local else None


def _tap_subscriptions(tap: SqsQueue | None) -> tuple[Subscription, ...]:
    return () if tap is None else (Subscription("sqs", tap.arn),)


def _batch_pipeline(
    settings: Settings,
    lake: Bucket,
    artifacts: Bucket,
    alerts: SnsTopic,
    ops: SnsTopic,
    sender: SesIdentity,
    warehouse: Secret,
) -> BatchPipeline:
    """The batch pipeline: Glue jobs, the alert Lambda and the state machine, with their roles."""
    names = pipeline_names(settings)
    staging = settings.warehouse_staging_prefix
    etl_role = IamRole(
        logical_id="EtlJobRole",
        name=f"{names.etl_job}-role",
        service="glue.amazonaws.com",
        statements=glue_statements(
            lake,
            artifacts,
            warehouse,
            read=(lake.arn.join(f"/{settings.raw_prefix}*"),),
            written=("curated/", "quarantine/", staging),
        ),
    )
    etl = GlueJob(
        logical_id="EtlCleaningJob",
        name=names.etl_job,
        script=EntryPoint("etl_cleaning_job.py", "fraudstack.jobs.etl"),
        artifacts=artifacts,
        role=etl_role,
    )
    inference_role = IamRole(
        logical_id="InferenceJobRole",
        name=f"{names.inference_job}-role",
        service="glue.amazonaws.com",
        statements=glue_statements(
            lake,
            artifacts,
            warehouse,
            read=(artifacts.arn.join("/models/*"), lake.arn.join("/curated/*")),
            written=(staging,),
        ),
    )
    inference = GlueJob(
        logical_id="MlInferenceJob",
        name=names.inference_job,
        script=EntryPoint("ml_inference_job.py", "fraudstack.jobs.inference"),
        artifacts=artifacts,
        role=inference_role,
    )
    alert_role = IamRole(
        logical_id="AlertHandlerRole",
        name=f"{names.alert_function}-role",
        service="lambda.amazonaws.com",
        statements=alert_handler_statements(names.alert_function, warehouse, alerts, sender),
    )
    handler = LambdaFunction(
        logical_id="AlertHandler",
        name=names.alert_function,
        source=EntryPoint("alert_handler.py", "fraudstack.alerts.handler", "handler", runs_as_script=False),
        handler="alert_handler.handler",
        role=alert_role,
        artifacts=artifacts,
        timeout_s=120,  # a full batch (max_alerts) publishes one SNS message and commit per alert
        environment=(
            ("FRAUDSTACK_TARGET", settings.target),
            ("FRAUDSTACK_WAREHOUSE_SECRET_NAME", settings.warehouse_secret_name),
            ("FRAUDSTACK_SNS_TOPIC", settings.sns_topic),
            ("FRAUDSTACK_ALERT_SENDER", settings.alert_sender),
            ("FRAUDSTACK_ALERT_RECIPIENTS", json.dumps(settings.alert_recipients)),
            ("FRAUDSTACK_DASHBOARD_PORT", str(settings.dashboard_port)),
            ("FRAUDSTACK_METRICS_NAMESPACE", settings.metrics_namespace),  # the PutMetricData condition's
        ),
    )
    drift_role = IamRole(
        logical_id="ModelDriftJobRole",
        name=f"{names.drift_job}-role",
        service="glue.amazonaws.com",
        statements=drift_job_statements(artifacts, warehouse),
    )
    drift = GlueJob(
        logical_id="ModelDriftJob",
        name=names.drift_job,
        script=EntryPoint("model_drift_job.py", "fraudstack.jobs.drift"),
        artifacts=artifacts,
        role=drift_role,
        timeout_minutes=15,
    )
    machine_role = IamRole(
        logical_id="PipelineStateMachineRole",
        name=f"{names.state_machine}-role",
        service="states.amazonaws.com",
        statements=(
            Statement(
                ("glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"),
                (etl.arn, inference.arn, drift.arn),
            ),
            Statement(("lambda:InvokeFunction",), (handler.arn,)),
            Statement(("sns:Publish",), (ops.arn,)),
        ),
    )
    machine = StateMachine(
        logical_id="FraudPipeline",
        name=names.state_machine,
        definition=data_file("statemachine", "fraud_pipeline.asl.json"),
        role=machine_role,
        substitutions=(
            ("EtlJobName", names.etl_job),
            ("InferenceJobName", names.inference_job),
            ("DriftJobName", names.drift_job),
            ("AlertFunctionArn", handler.arn),
            ("OpsTopicArn", ops.arn),
        ),
    )
    retraining_role = IamRole(
        logical_id="RetrainingJobRole",
        name=f"{names.retraining_job}-role",
        service="glue.amazonaws.com",
        statements=retraining_job_statements(artifacts, warehouse),
    )
    retraining = GlueJob(
        logical_id="RetrainingJob",
        name=names.retraining_job,
        script=EntryPoint("retraining_job.py", "fraudstack.jobs.retraining"),
        artifacts=artifacts,
        role=retraining_role,
        timeout_minutes=60,
    )
    retraining_machine_role = IamRole(
        logical_id="RetrainingStateMachineRole",
        name=f"{names.retraining_machine}-role",
        service="states.amazonaws.com",
        statements=(
            Statement(
                ("glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"),
                (retraining.arn,),
            ),
            Statement(("sns:Publish",), (ops.arn,)),
        ),
    )
    retraining_machine = StateMachine(
        logical_id="RetrainingMachine",
        name=names.retraining_machine,
        definition=data_file("statemachine", "retraining.asl.json"),
        role=retraining_machine_role,
        substitutions=(
            ("RetrainingJobName", names.retraining_job),
            ("OpsTopicArn", ops.arn),
        ),
    )
    return BatchPipeline(
        etl_role=etl_role,
        etl=etl,
        inference_role=inference_role,
        inference=inference,
        alert_role=alert_role,
        alert_handler=handler,
        drift_role=drift_role,
        drift=drift,
        machine_role=machine_role,
        machine=machine,
        retraining_role=retraining_role,
        retraining=retraining,
        retraining_machine_role=retraining_machine_role,
        retraining_machine=retraining_machine,
    )


def declare(settings: Settings) -> Declaration:
    """Every resource the pipeline needs, named by ``settings``."""
    lake = Bucket(logical_id="LakeBucket", name=settings.bucket)
    artifacts = Bucket(logical_id="ArtifactsBucket", name=settings.artifacts_bucket)
    stream = KinesisStream(
        logical_id="TransactionsStream", name=settings.kinesis_stream, shards=settings.kinesis_shards
    )
    delivery_role = IamRole(
        logical_id="RawDeliveryRole",
        name=f"{settings.firehose_stream}-role",
        service="firehose.amazonaws.com",
        statements=firehose_statements(stream, lake, (settings.raw_prefix, settings.raw_error_prefix)),
    )
    delivery = FirehoseDeliveryStream(
        logical_id="RawDeliveryStream",
        name=settings.firehose_stream,
        source=stream,
        bucket=lake,
        role=delivery_role,
        prefix=settings.raw_prefix,
        error_prefix=settings.raw_error_prefix,
        buffer_mb=settings.firehose_buffer_mb,
        buffer_seconds=settings.firehose_buffer_seconds,
    )
    alerts_tap = _tap(settings, "AlertsTapQueue", settings.alerts_tap_queue)
    ops_tap = _tap(settings, "OpsTapQueue", settings.ops_tap_queue)
    alerts = SnsTopic(
        logical_id="AlertsTopic",
        name=settings.sns_topic,
        subscriptions=tuple(Subscription("email", r) for r in settings.alert_recipients)
        + _tap_subscriptions(alerts_tap),
    )
    ops = SnsTopic(
        logical_id="OpsTopic",
        name=settings.ops_topic,
        subscriptions=tuple(Subscription("email", r) for r in settings.ops_recipients)
        + _tap_subscriptions(ops_tap),
    )
    sender = SesIdentity(logical_id="AlertSender", name=settings.alert_sender)
    warehouse = Secret(
        logical_id="WarehouseSecret",
        name=settings.warehouse_secret_name,
        description="fraudstack warehouse connection (engine, host, port, username, password, dbname, dsn)",
        value=warehouse_secret_value(settings),
        missing_value_hint="run `fraudstack stack up` first, or set FRAUDSTACK_WAREHOUSE_PASSWORD "
        "or FRAUDSTACK_WAREHOUSE_DSN",
    )
    return Declaration(
        lake=lake,
        artifacts=artifacts,
        stream=stream,
        delivery_role=delivery_role,
        delivery=delivery,
        alerts_tap=alerts_tap,
        ops_tap=ops_tap,
        alerts=alerts,
        ops=ops,
        sender=sender,
        warehouse=warehouse,
        pipeline=_batch_pipeline(settings, lake, artifacts, alerts, ops, sender, warehouse),
    )
