"""The resource types the pipeline is declared with: what the emulator and AWS both have.

S3 buckets, a Kinesis stream, IAM roles, a Firehose delivery stream, SQS queues (local
topic taps), SNS topics, an SES sender, a Secrets Manager secret, a Lambda function, Glue
jobs and a Step Functions state machine. Each ensures itself through the API and renders
itself as CloudFormation (:class:`fraudstack.provisioning.base.Resource`); the resources only
AWS has are in :mod:`fraudstack.provisioning.aws`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any, ClassVar

from botocore.exceptions import ClientError
from pydantic import SecretStr

from fraudstack.errors import ConfigError, FraudstackError
from fraudstack.provisioning.base import (
    POLICY_VERSION,
    Arn,
    Change,
    DeployTarget,
    Resource,
    Statement,
    error_code,
    regional_arn,
    sub_arn,
)
from fraudstack.provisioning.packaging import LambdaPackage, Script, build_lambda_zip

# --- S3 -----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Bucket(Resource):
    """An S3 bucket, encrypted at rest and closed to the public."""

    kind = "s3-bucket"
    cfn_type = "AWS::S3::Bucket"

    _SSE: ClassVar[dict[str, str]] = {"SSEAlgorithm": "AES256"}  # S3-managed keys
    _PUBLIC_ACCESS_BLOCK: ClassVar[dict[str, bool]] = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }

    @property
    def arn(self) -> Arn:
        return Arn(f"arn:{{partition}}:s3:::{self.name}", {"Fn::GetAtt": [self.logical_id, "Arn"]})

    def ensure(self, target: DeployTarget) -> Change:
        s3 = target.client("s3")
        created = False
        try:
            s3.head_bucket(Bucket=self.name)
        except ClientError as exc:
            if error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                raise
            region = target.settings.aws_region
            location = (
                {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            )
            s3.create_bucket(Bucket=self.name, **location)
            created = True
        updates = []
        if self._current_algorithms(s3) != [self._SSE["SSEAlgorithm"]]:
            s3.put_bucket_encryption(
                Bucket=self.name,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": self._SSE}]
                },
            )
            updates.append("encryption")
        if self._current_public_access_block(s3) != self._PUBLIC_ACCESS_BLOCK:
            s3.put_public_access_block(
                Bucket=self.name, PublicAccessBlockConfiguration=self._PUBLIC_ACCESS_BLOCK
            )
            updates.append("public access block")
        return self._change(created, updates)

    def _current_algorithms(self, s3: Any) -> list[str]:
        try:
            rules = s3.get_bucket_encryption(Bucket=self.name)["ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as exc:
            if error_code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            return []
        return [rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in rules]

    def _current_public_access_block(self, s3: Any) -> dict[str, bool]:
        try:
            return dict(s3.get_public_access_block(Bucket=self.name)["PublicAccessBlockConfiguration"])
        except ClientError as exc:
            if error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise
            return {}

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "BucketName": self.name,
            # The template spells the API's ApplyServerSideEncryptionByDefault differently.
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": self._SSE}]
            },
            "PublicAccessBlockConfiguration": self._PUBLIC_ACCESS_BLOCK,
        }


# --- Kinesis ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class KinesisStream(Resource):
    """A provisioned Kinesis data stream with a fixed shard count."""

    shards: int

    kind = "kinesis-stream"
    cfn_type = "AWS::Kinesis::Stream"

    @property
    def arn(self) -> Arn:
        return regional_arn("kinesis", f"stream/{self.name}", {"Fn::GetAtt": [self.logical_id, "Arn"]})

    def ensure(self, target: DeployTarget) -> Change:
        kinesis = target.client("kinesis")
        try:
            summary = kinesis.describe_stream_summary(StreamName=self.name)["StreamDescriptionSummary"]
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            kinesis.create_stream(
                StreamName=self.name, ShardCount=self.shards, StreamModeDetails={"StreamMode": "PROVISIONED"}
            )
            self._wait_active(kinesis)
            return self._change(created=True)
        if summary["OpenShardCount"] == self.shards:
            return self._change(created=False)
        self._wait_active(kinesis)  # resharding is refused while the stream is still updating
        kinesis.update_shard_count(
            StreamName=self.name, TargetShardCount=self.shards, ScalingType="UNIFORM_SCALING"
        )
        self._wait_active(kinesis)
        return self._change(False, [f"shards {summary['OpenShardCount']} -> {self.shards}"])

    def _wait_active(self, kinesis: Any) -> None:
        kinesis.get_waiter("stream_exists").wait(
            StreamName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
        )

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "ShardCount": self.shards,
            "StreamModeDetails": {"StreamMode": "PROVISIONED"},
        }


# --- IAM ----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class IamRole(Resource):
    """A role one AWS service assumes, with a single inline least-privilege policy."""

    service: str  # the principal allowed to assume it, e.g. "firehose.amazonaws.com"
    statements: tuple[Statement, ...]

    kind = "iam-role"
    cfn_type = "AWS::IAM::Role"
    policy_name: ClassVar[str] = "least-privilege"

    @property
    def arn(self) -> Arn:
        return Arn(
            f"arn:{{partition}}:iam::{{account}}:role/{self.name}", {"Fn::GetAtt": [self.logical_id, "Arn"]}
        )

    def _trust(self) -> dict[str, Any]:
        return {
            "Version": POLICY_VERSION,
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": self.service}, "Action": "sts:AssumeRole"}
            ],
        }

    def _policy(self, arn: Callable[[Arn], Any]) -> dict[str, Any]:
        return {"Version": POLICY_VERSION, "Statement": [s.render(arn) for s in self.statements]}

    def ensure(self, target: DeployTarget) -> Change:
        iam = target.client("iam")
        created = False
        updates = []
        try:
            role = iam.get_role(RoleName=self.name)["Role"]
        except ClientError as exc:
            if error_code(exc) != "NoSuchEntity":
                raise
            iam.create_role(RoleName=self.name, AssumeRolePolicyDocument=json.dumps(self._trust()))
            created = True
        else:
            if role.get("AssumeRolePolicyDocument") != self._trust():
                iam.update_assume_role_policy(RoleName=self.name, PolicyDocument=json.dumps(self._trust()))
                updates.append("trust policy")
        policy = self._policy(target.resolve)
        try:
            current = iam.get_role_policy(RoleName=self.name, PolicyName=self.policy_name)["PolicyDocument"]
        except ClientError as exc:
            if error_code(exc) != "NoSuchEntity":
                raise
            current = None
        if current != policy:
            iam.put_role_policy(
                RoleName=self.name, PolicyName=self.policy_name, PolicyDocument=json.dumps(policy)
            )
            updates.append("policy")
        return self._change(created, updates)

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "RoleName": self.name,
            "AssumeRolePolicyDocument": self._trust(),
            "Policies": [{"PolicyName": self.policy_name, "PolicyDocument": self._policy(lambda a: a.cfn)}],
        }


# --- Firehose -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FirehoseDeliveryStream(Resource):
    """Firehose reading a Kinesis stream and writing buffered objects under an S3 prefix."""

    source: KinesisStream
    bucket: Bucket
    role: IamRole
    prefix: str
    error_prefix: str
    buffer_mb: int
    buffer_seconds: int
    compression: str = "UNCOMPRESSED"

    kind = "firehose-stream"
    cfn_type = "AWS::KinesisFirehose::DeliveryStream"
    stream_type: ClassVar[str] = "KinesisStreamAsSource"

    def _source(self, arn: Callable[[Arn], Any]) -> dict[str, Any]:
        return {"KinesisStreamARN": arn(self.source.arn), "RoleARN": arn(self.role.arn)}

    def _destination(self, arn: Callable[[Arn], Any]) -> dict[str, Any]:
        return {
            "BucketARN": arn(self.bucket.arn),
            "RoleARN": arn(self.role.arn),
            "Prefix": self.prefix,
            "ErrorOutputPrefix": self.error_prefix,
            "BufferingHints": {"SizeInMBs": self.buffer_mb, "IntervalInSeconds": self.buffer_seconds},
            "CompressionFormat": self.compression,
        }

    def ensure(self, target: DeployTarget) -> Change:
        firehose = target.client("firehose")
        source, destination = self._source(target.resolve), self._destination(target.resolve)
        try:
            described = firehose.describe_delivery_stream(DeliveryStreamName=self.name)
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            firehose.create_delivery_stream(
                DeliveryStreamName=self.name,
                DeliveryStreamType=self.stream_type,
                KinesisStreamSourceConfiguration=source,
                ExtendedS3DestinationConfiguration=destination,
            )
            return self._change(created=True)
        description = described["DeliveryStreamDescription"]
        current_source = description.get("Source", {}).get("KinesisStreamSourceDescription", {})
        if description.get("DeliveryStreamType") != self.stream_type or any(
            current_source.get(key) != value for key, value in source.items()
        ):
            # AWS cannot change a delivery stream's source in place; replacing it silently
            # could drop buffered records, so the operator decides.
            raise FraudstackError(
                f"Firehose delivery stream {self.name} exists with another source; delete it "
                f"(aws firehose delete-delivery-stream --delivery-stream-name {self.name}) and deploy again"
            )
        current = description["Destinations"][0]
        extended = current.get("ExtendedS3DestinationDescription", {})
        drifted = sorted(key for key, value in destination.items() if extended.get(key) != value)
        if not drifted:
            return self._change(created=False)
        firehose.update_destination(
            DeliveryStreamName=self.name,
            CurrentDeliveryStreamVersionId=description["VersionId"],
            DestinationId=current["DestinationId"],
            ExtendedS3DestinationUpdate=destination,
        )
        return self._change(False, drifted)

    def cfn_properties(self) -> dict[str, Any]:
        cfn = lambda a: a.cfn  # noqa: E731 - the template form of every ARN
        return {
            "DeliveryStreamName": self.name,
            "DeliveryStreamType": self.stream_type,
            "KinesisStreamSourceConfiguration": self._source(cfn),
            "ExtendedS3DestinationConfiguration": self._destination(cfn),
        }


# --- SQS, SNS, SES ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SqsQueue(Resource):
    """A plain queue; declared on local targets only, as a topic tap that tests read."""

    kind = "sqs-queue"
    cfn_type = "AWS::SQS::Queue"

    @property
    def arn(self) -> Arn:
        return regional_arn("sqs", self.name, {"Fn::GetAtt": [self.logical_id, "Arn"]})

    def ensure(self, target: DeployTarget) -> Change:
        sqs = target.client("sqs")
        try:
            sqs.get_queue_url(QueueName=self.name)
        except ClientError as exc:
            if error_code(exc) not in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
                raise
            sqs.create_queue(QueueName=self.name)
            return self._change(created=True)
        return self._change(created=False)

    def cfn_properties(self) -> dict[str, Any]:
        return {"QueueName": self.name}


@dataclass(frozen=True)
class Subscription:
    """A topic subscription: ``email`` to a recipient or ``sqs`` to a queue's ARN."""

    protocol: str
    endpoint: str | Arn

    def render(self, arn: Callable[[Arn], Any]) -> Any:
        return arn(self.endpoint) if isinstance(self.endpoint, Arn) else self.endpoint


@dataclass(frozen=True, kw_only=True)
class SnsTopic(Resource):
    """An SNS topic with exactly the declared subscriptions."""

    subscriptions: tuple[Subscription, ...] = ()

    kind = "sns-topic"
    cfn_type = "AWS::SNS::Topic"

    @property
    def arn(self) -> Arn:
        return regional_arn("sns", self.name, {"Ref": self.logical_id})

    def ensure(self, target: DeployTarget) -> Change:
        sns = target.client("sns")
        topic_arn = target.resolve(self.arn)
        created = False
        try:
            sns.get_topic_attributes(TopicArn=topic_arn)
        except ClientError as exc:
            if error_code(exc) != "NotFound":
                raise
            topic_arn = sns.create_topic(Name=self.name)["TopicArn"]
            created = True
        wanted = {(s.protocol, str(s.render(target.resolve))) for s in self.subscriptions}
        existing: dict[tuple[str, str], str] = {}
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
            for sub in page["Subscriptions"]:
                existing[(sub["Protocol"], sub["Endpoint"])] = sub["SubscriptionArn"]
        updates = []
        for protocol, endpoint in sorted(wanted - existing.keys()):
            sns.subscribe(
                TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint, ReturnSubscriptionArn=True
            )
            updates.append(f"+{protocol}:{endpoint}")
        for key in sorted(existing.keys() - wanted):
            # A subscription still awaiting e-mail confirmation has no ARN and cannot be removed.
            if existing[key].startswith("arn:"):
                sns.unsubscribe(SubscriptionArn=existing[key])
                updates.append(f"-{key[0]}:{key[1]}")
        return self._change(created, updates)

    def cfn_properties(self) -> dict[str, Any]:
        properties: dict[str, Any] = {"TopicName": self.name}
        if self.subscriptions:
            properties["Subscription"] = [
                {"Protocol": s.protocol, "Endpoint": s.render(lambda a: a.cfn)} for s in self.subscriptions
            ]
        return properties


@dataclass(frozen=True, kw_only=True)
class SesIdentity(Resource):
    """A verified SES sender address (the name is the address)."""

    kind = "ses-identity"
    cfn_type = "AWS::SES::EmailIdentity"

    def ensure(self, target: DeployTarget) -> Change:
        ses = target.client("ses")
        attributes = ses.get_identity_verification_attributes(Identities=[self.name])[
            "VerificationAttributes"
        ]
        status = attributes.get(self.name, {}).get("VerificationStatus")
        if status in {"Success", "Pending"}:
            return self._change(created=False)
        # Sends the verification mail on AWS; the emulator verifies at once (required before send).
        ses.verify_email_identity(EmailAddress=self.name)
        return self._change(status is None, [f"verification re-sent (was {status})"])

    def cfn_properties(self) -> dict[str, Any]:
        return {"EmailIdentity": self.name}


# --- Secrets Manager ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Secret(Resource):
    """A Secrets Manager secret whose value comes from settings at deploy time, never from code.

    ``value`` is None when the settings cannot supply it (e.g. rendering a template, where
    the value is set outside the template so it never lands in one).
    """

    description: str
    value: SecretStr | None = field(default=None, repr=False)
    missing_value_hint: str = "set it in the settings"

    kind = "secret"
    cfn_type = "AWS::SecretsManager::Secret"

    def ensure(self, target: DeployTarget) -> Change:
        if self.value is None and target.settings.is_local:
            # On AWS the value may be managed elsewhere (e.g. by Redshift); the emulator has no one else.
            raise ConfigError(f"no value for the secret {self.name}: {self.missing_value_hint}")
        secrets = target.client("secretsmanager")
        try:
            secrets.describe_secret(SecretId=self.name)
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            secrets.create_secret(Name=self.name, Description=self.description, **self._value_kwargs())
            return self._change(created=True)
        if self.value is None:
            return self._change(created=False)
        try:
            current = secrets.get_secret_value(SecretId=self.name).get("SecretString")
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":  # a secret created without a value
                raise
            current = None
        if current == self.value.get_secret_value():
            return self._change(created=False)
        secrets.put_secret_value(SecretId=self.name, SecretString=self.value.get_secret_value())
        return self._change(False, ["value"])

    def _value_kwargs(self) -> dict[str, str]:
        return {} if self.value is None else {"SecretString": self.value.get_secret_value()}

    def cfn_properties(self) -> dict[str, Any]:
        return {"Name": self.name, "Description": self.description}


# --- Lambda, Glue, Step Functions ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LambdaFunction(Resource):
    """A python3.11 function whose zip is built from its handler module (:mod:`.packaging`).

    ``artifacts`` is where a template deploy finds the zip (``lambda/<name>/<sha256>.zip``,
    uploaded by the AWS packaging step); the API deploy sends the bytes directly.
    """

    source: Script
    handler: str
    role: IamRole
    artifacts: Bucket
    environment: tuple[tuple[str, str], ...] = ()
    timeout_s: int = 60
    memory_mb: int = 256

    kind = "lambda-function"
    cfn_type = "AWS::Lambda::Function"
    runtime: ClassVar[str] = "python3.11"

    @property
    def arn(self) -> Arn:
        return regional_arn("lambda", f"function:{self.name}", {"Fn::GetAtt": [self.logical_id, "Arn"]})

    def package(self) -> LambdaPackage:
        return build_lambda_zip(self.source)

    def code_key(self) -> str:
        return f"lambda/{self.name}/{self.package().sha256_hex}.zip"

    def _configuration(self, arn: Callable[[Arn], Any]) -> dict[str, Any]:
        return {
            "Runtime": self.runtime,
            "Handler": self.handler,
            "Role": arn(self.role.arn),
            "Timeout": self.timeout_s,
            "MemorySize": self.memory_mb,
            "Environment": {"Variables": dict(self.environment)},
        }

    def ensure(self, target: DeployTarget) -> Change:
        lam = target.client("lambda")
        package = self.package()
        wanted = self._configuration(target.resolve)
        try:
            current = lam.get_function_configuration(FunctionName=self.name)
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            lam.create_function(FunctionName=self.name, Code={"ZipFile": package.zip_bytes}, **wanted)
            lam.get_waiter("function_active_v2").wait(FunctionName=self.name)
            return self._change(created=True)
        updates = []
        if current.get("CodeSha256") != package.code_sha256:
            lam.update_function_code(FunctionName=self.name, ZipFile=package.zip_bytes)
            lam.get_waiter("function_updated_v2").wait(FunctionName=self.name)
            updates.append("code")
        current_env = current.get("Environment", {}).get("Variables", {})
        drifted = sorted(
            key
            for key, value in wanted.items()
            if (current_env if key == "Environment" else current.get(key))
            != (value["Variables"] if key == "Environment" else value)
        )
        if drifted:
            lam.update_function_configuration(FunctionName=self.name, **wanted)
            lam.get_waiter("function_updated_v2").wait(FunctionName=self.name)
            updates += drifted
        return self._change(False, updates)

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "FunctionName": self.name,
            "Code": {"S3Bucket": self.artifacts.name, "S3Key": self.code_key()},
            **self._configuration(lambda a: a.cfn),
        }


@dataclass(frozen=True, kw_only=True)
class GlueJob(Resource):
    """A Glue 5.0 Spark job whose script is uploaded to the artifacts bucket under ``glue/scripts/``."""

    script: Script
    artifacts: Bucket
    role: IamRole
    default_arguments: tuple[tuple[str, str], ...] = ()
    workers: int = 2
    timeout_minutes: int = 30

    kind = "glue-job"
    cfn_type = "AWS::Glue::Job"
    glue_version: ClassVar[str] = "5.0"
    worker_type: ClassVar[str] = "G.1X"
    #: One run at a time: the ETL bookmark and the inference watermark assume it; an
    #: overlapping pipeline run gets ConcurrentRunsExceededException and retries with backoff.
    max_concurrent_runs: ClassVar[int] = 1

    @property
    def arn(self) -> Arn:
        return sub_arn("glue", f"job/{self.name}")

    @property
    def script_key(self) -> str:
        return f"glue/scripts/{self.script.name}"

    def _definition(self) -> dict[str, Any]:
        return {
            "Command": {
                "Name": "glueetl",
                "ScriptLocation": f"s3://{self.artifacts.name}/{self.script_key}",
                "PythonVersion": "3",
            },
            "DefaultArguments": {
                "--job-language": "python",
                "--enable-metrics": "true",
                **dict(self.default_arguments),
            },
            "ExecutionProperty": {"MaxConcurrentRuns": self.max_concurrent_runs},
            "GlueVersion": self.glue_version,
            "WorkerType": self.worker_type,
            "NumberOfWorkers": self.workers,
            "Timeout": self.timeout_minutes,
        }

    def _upload(self, target: DeployTarget) -> bool:
        """Upload the script when its content changed; whether it did."""
        body = self.script.read_bytes()
        s3 = target.client("s3")
        try:
            etag = s3.head_object(Bucket=self.artifacts.name, Key=self.script_key)["ETag"].strip('"')
        except ClientError as exc:
            if error_code(exc) not in {"404", "NoSuchKey", "NotFound"}:
                raise
            etag = None
        if etag == hashlib.md5(body, usedforsecurity=False).hexdigest():  # single-part ETag
            return False
        s3.put_object(Bucket=self.artifacts.name, Key=self.script_key, Body=body)
        return True

    def ensure(self, target: DeployTarget) -> Change:
        glue = target.client("glue")
        updates = ["script"] if self._upload(target) else []
        wanted = {**self._definition(), "Role": target.resolve(self.role.arn)}
        try:
            current = glue.get_job(JobName=self.name)["Job"]
        except ClientError as exc:
            if error_code(exc) != "EntityNotFoundException":
                raise
            glue.create_job(Name=self.name, **wanted)
            current = None
        else:
            drifted = sorted(key for key, value in wanted.items() if current.get(key) != value)
            if drifted and target.settings.is_local:
                # moto 5.2.5 has no UpdateJob; locally there is no run history worth keeping.
                glue.delete_job(JobName=self.name)
                glue.create_job(Name=self.name, **wanted)
            elif drifted:
                glue.update_job(JobName=self.name, JobUpdate=wanted)
            updates += drifted
        return self._change(current is None, updates)

    def cfn_properties(self) -> dict[str, Any]:
        return {"Name": self.name, "Role": self.role.arn.cfn, **self._definition()}


@dataclass(frozen=True, kw_only=True)
class StateMachine(Resource):
    """A standard Step Functions state machine from an ASL file with ``${Name}`` placeholders.

    Placeholders resolve to literal values on the API deploy and become CloudFormation's
    ``DefinitionSubstitutions`` in a template, so the ASL file is the same for both.
    """

    definition: Traversable
    role: IamRole
    substitutions: tuple[tuple[str, Arn | str], ...]

    kind = "state-machine"
    cfn_type = "AWS::StepFunctions::StateMachine"

    @property
    def arn(self) -> Arn:
        return regional_arn("states", f"stateMachine:{self.name}", {"Ref": self.logical_id})

    def render(self, arn: Callable[[Arn], Any]) -> str:
        """The definition with every placeholder replaced (each must be used)."""
        text = self.definition.read_text(encoding="utf-8")
        for key, value in self.substitutions:
            placeholder = "${" + key + "}"
            if placeholder not in text:
                raise ConfigError(f"{self.definition.name} has no placeholder {placeholder}")
            text = text.replace(placeholder, str(arn(value)) if isinstance(value, Arn) else value)
        return text

    def ensure(self, target: DeployTarget) -> Change:
        sfn = target.client("stepfunctions")
        definition = self.render(target.resolve)
        role_arn = target.resolve(self.role.arn)
        machine_arn = target.resolve(self.arn)
        try:
            current = sfn.describe_state_machine(stateMachineArn=machine_arn)
        except ClientError as exc:
            if error_code(exc) != "StateMachineDoesNotExist":
                raise
            sfn.create_state_machine(name=self.name, definition=definition, roleArn=role_arn, type="STANDARD")
            return self._change(created=True)
        updates = []
        if json.loads(current["definition"]) != json.loads(definition):
            updates.append("definition")
        if current["roleArn"] != role_arn:
            updates.append("role")
        if updates:
            sfn.update_state_machine(stateMachineArn=machine_arn, definition=definition, roleArn=role_arn)
        return self._change(False, updates)

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "StateMachineName": self.name,
            "StateMachineType": "STANDARD",
            "RoleArn": self.role.arn.cfn,
            "DefinitionString": self.definition.read_text(encoding="utf-8"),
            "DefinitionSubstitutions": {
                key: value.cfn if isinstance(value, Arn) else value for key, value in self.substitutions
            },
        }
