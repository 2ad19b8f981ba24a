"""The IAM statements of the declared pipeline: exactly the actions each component's code calls.

Every statement lists exact actions on exact ARNs; the roles that exist only on AWS (Fargate
tasks, the schedule, Redshift's COPY) are in :mod:`fraudstack.provisioning.aws.iam`.
"""

from __future__ import annotations

from collections.abc import Iterable

from fraudstack.provisioning.base import Arn, Statement, ref, sub_arn
from fraudstack.provisioning.resources import Bucket, KinesisStream, Secret, SesIdentity, SnsTopic


def firehose_statements(
    stream: KinesisStream, bucket: Bucket, prefixes: Iterable[str]
) -> tuple[Statement, ...]:
    """Exactly what Firehose needs: read the stream, write objects under its own prefixes."""
    return (
        Statement(
            (
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:ListShards",
            ),
            (stream.arn,),
        ),
        Statement(
            ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"),
            (bucket.arn,),
        ),
        Statement(
            ("s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"),
            tuple(bucket.arn.join(f"/{prefix}*") for prefix in prefixes),
        ),
    )


def secret_arn(secret: Secret) -> Arn:
    """A secret's ARN: AWS appends six random characters to the name."""
    return Arn(
        f"arn:{{partition}}:secretsmanager:{{region}}:{{account}}:secret:{secret.name}-??????",
        ref(secret.logical_id),
    )


def read_secret(secret: Secret) -> Statement:
    """GetSecretValue on one secret."""
    return Statement(("secretsmanager:GetSecretValue",), (secret_arn(secret),))


def alert_handler_statements(
    function: str, warehouse: Secret, alerts: SnsTopic, sender: SesIdentity
) -> tuple[Statement, ...]:
    """The alert Lambda: read the warehouse secret, publish alerts, e-mail them, write its logs."""
    log_group = sub_arn("logs", f"log-group:/aws/lambda/{function}")
    return (
        read_secret(warehouse),
        Statement(("sns:Publish",), (alerts.arn,)),
        Statement(("ses:SendEmail", "ses:SendRawEmail"), (sub_arn("ses", f"identity/{sender.name}"),)),
        Statement(("logs:CreateLogGroup",), (log_group,)),
        Statement(("logs:CreateLogStream", "logs:PutLogEvents"), (log_group.join(":*"),)),
    )


def glue_statements(
    lake: Bucket,
    artifacts: Bucket,
    warehouse: Secret,
    read: tuple[Arn, ...],
    written: tuple[str, ...],
) -> tuple[Statement, ...]:
    """One Glue job: its script, what it ``read``s, the lake prefixes it ``written``, the warehouse.

    One role per job: the ETL job never needs the models, the inference job never the raw data.
    """
    return (
        Statement(("s3:ListBucket",), (lake.arn, artifacts.arn)),
        Statement(("s3:GetObject",), (artifacts.arn.join("/glue/scripts/*"), *read)),
        Statement(
            ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
            tuple(lake.arn.join(f"/{prefix}*") for prefix in written),
        ),
        read_secret(warehouse),
        _glue_logs(),
    )


def _glue_logs() -> Statement:
    return Statement(
        ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
        (sub_arn("logs", "log-group:/aws-glue/*"),),
    )


def drift_job_statements(artifacts: Bucket, warehouse: Secret) -> tuple[Statement, ...]:
    """The drift job: its script, the models and their history, the warehouse; no lake (it
    reads the warehouse). Its automatic rollback moves ``current`` and records why.

    Its metrics (PutMetricData, conditioned on the namespace) are added on AWS, as for the
    services (:func:`fraudstack.provisioning.aws.iam.put_metrics`).
    """
    history = artifacts.arn.join("/model-history/*")
    return (
        Statement(("s3:ListBucket",), (artifacts.arn,)),
        Statement(
            ("s3:GetObject",),
            (artifacts.arn.join("/glue/scripts/*"), artifacts.arn.join("/models/*"), history),
        ),
        Statement(("s3:PutObject",), (artifacts.arn.join("/models/current.json"), history)),
        read_secret(warehouse),
        _glue_logs(),
    )


def retraining_job_statements(artifacts: Bucket, warehouse: Secret) -> tuple[Statement, ...]:
    """The retraining job: the registry (read, publish, move ``current``, history), its own
    step files, the warehouse; no lake (it reads the warehouse)."""
    return (
        Statement(("s3:ListBucket",), (artifacts.arn,)),
        Statement(("s3:GetObject",), (artifacts.arn.join("/glue/scripts/*"),)),
        Statement(
            ("s3:GetObject", "s3:PutObject"),
            (
                artifacts.arn.join("/models/*"),
                artifacts.arn.join("/model-history/*"),
                artifacts.arn.join("/retraining/*"),
            ),
        ),
        read_secret(warehouse),
        _glue_logs(),
    )
