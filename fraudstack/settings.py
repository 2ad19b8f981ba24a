"""The one typed settings object every fraudstack component reads.

Why one object: the same code runs on three targets (embedded, compose, aws) and must
never know which. Everything that differs between them is a setting here, read from the
environment first (then an optional ``.env`` file), with safe local defaults. No other
module reads environment variables; components receive a ``Settings`` instance (or call
:func:`load_settings`).

The standard variables ``KAFKA_BOOTSTRAP_SERVERS``, ``AWS_ENDPOINT_URL`` and ``AWS_REGION``
are honoured under their usual names; everything else is ``FRAUDSTACK_<FIELD>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fraudstack.errors import ConfigError

Target = Literal["embedded", "compose", "aws"]
KafkaStorage = Literal["memory", "s3"]

#: Credentials for the local emulator only. moto accepts any key; these are not secrets and
#: are never used when ``target == "aws"`` (there boto3's own credential chain applies).
EMULATOR_ACCESS_KEY_ID = "fraudstack-local"
EMULATOR_SECRET_ACCESS_KEY = "fraudstack-local"  # noqa: S105 - emulator placeholder, not a credential


def _env(name: str) -> AliasChoices:
    """Accept ``FRAUDSTACK_NAME`` and, for contract variables, the bare standard name."""
    return AliasChoices(name, f"FRAUDSTACK_{name}")


class Settings(BaseSettings):
    """Configuration for every fraudstack component (environment first, then ``.env``)."""

    model_config = SettingsConfigDict(
        env_prefix="FRAUDSTACK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- where we run -------------------------------------------------------------------
    target: Target = "embedded"
    state_dir: Path = Field(default=Path(".fraudstack"), description="pid files, logs, data dirs")

    # --- Kafka --------------------------------------------------------------------------
    kafka_bootstrap_servers: str = Field(default="", validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS"))
    kafka_port: int = Field(default=19092, ge=1, le=65535)
    kafka_storage: KafkaStorage = "memory"
    kafka_storage_bucket: str = "fraudstack-kafka"
    kafka_partitions: int = Field(default=4, ge=1)
    kafka_replication_factor: int | None = Field(
        default=None,
        ge=1,
        description="replicas of each topic; default 1 on a local broker, 3 on aws (MSK, where "
        "min.insync.replicas=2 makes an acks=all produce to a one-replica topic fail)",
    )
    topic_transactions: str = "transactions"
    topic_dead_letter: str = "transactions-dlq"
    topic_decisions: str = "decisions"
    topic_shadow_scores: str = Field(
        default="shadow-scores", description="the staged challenger's scores (shadow scoring, for its gate)"
    )
    topic_labels: str = "labels"
    topic_entity_events: str = Field(
        default="entity-events", description="transactions repartitioned by merchant, device, IP, customer"
    )
    topic_entity_profiles: str = Field(
        default="entity-profiles",
        description="one profile per entity (compacted on MSK), read whole by scorers",
    )
    profiles_group_id: str = "fraudstack-profiles"
    kafka_session_timeout_ms: int = Field(
        default=10000, ge=1000, description="consumer groups; Tansu makes a join wait half of it"
    )
    bridge_group_id: str = "fraudstack-bridge"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL"] | None = Field(
        default=None,
        description="None: SSL on aws (the stack's MSK cluster listens with TLS only), PLAINTEXT on a "
        "local broker",
    )
    kafka_idempotent_producer: bool | None = Field(
        default=None,
        description="None: on, except for the embedded broker on s3 storage (see fraudstack.kafka.config)",
    )

    # --- streaming scorer (fraudstack score) ------------------------------------------------
    scorer_group_id: str = "fraudstack-scorer"
    scorer_review_threshold: float | None = Field(
        default=None, ge=0, le=1, description="score for 'review'; unset: the model's own alert threshold"
    )
    scorer_decline_threshold: float = Field(default=0.9, ge=0, le=1, description="score for 'decline'")
    scorer_alert_threshold: float = Field(
        default=0.8, ge=0, le=1, description="reviews/declines scoring at least this also go to SNS"
    )
    scorer_model_poll_seconds: float = Field(default=5.0, gt=0, description="registry pointer poll period")
    scorer_snapshot_seconds: float = Field(
        default=30.0, gt=0, description="per-partition feature-state snapshot period (bounds replay)"
    )
    scorer_state_prefix: str = Field(default="scorer-state/", description="S3 prefix in `artifacts_bucket`")
    scorer_include_features: bool = Field(
        default=False, description="put the feature vector in each decision (audit, tests)"
    )
    scorer_drift_seconds: float = Field(
        default=300.0, gt=0, description="how often the scorer publishes the drift of its trailing window"
    )
    scorer_drift_window_seconds: float = Field(
        default=86400.0, gt=0, description="trailing window of scored traffic the scorer's drift measures"
    )
    scorer_drift_min_rows: int = Field(
        default=1000, ge=1, description="fewest rows in the window for the scorer to publish its drift"
    )

    # --- AWS / emulator ---------------------------------------------------------------------
    aws_endpoint_url: str | None = Field(default=None, validation_alias=_env("AWS_ENDPOINT_URL"))
    aws_region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION", "FRAUDSTACK_AWS_REGION"),
    )
    moto_port: int = Field(default=5055, ge=1, le=65535)

    # --- Spark (local Glue runs) --------------------------------------------------------------
    spark_jars_dir: Path | None = Field(
        default=None, description="folder of the hadoop-aws + AWS SDK bundle jars; default: the user cache"
    )
    spark_driver_memory: str = Field(
        default="2g",
        pattern=r"^[1-9][0-9]*[mg]$",
        description="local Spark's driver heap (it is the executor too): a 1M-row ETL batch wants 2g or more",
    )
    spark_java_options: str = Field(
        default="",
        # JVM options, each starting with '-' (the heap is spark_driver_memory: Spark refuses -Xmx here).
        pattern=r"^\s*(?:-\S+\s*)*$",
        description=(
            "extra JVM options of local Spark; '-XX:TieredStopAtLevel=1' speeds up jobs of seconds"
            " (the test suite's) but slows a 1M-row ETL by 40% (BENCHMARKS.md)"
        ),
    )

    # --- resource names (the declaration in fraudstack.provisioning uses these) ---------------------
    bucket: str = "fraudstack-lake"
    artifacts_bucket: str = "fraudstack-artifacts"
    kinesis_stream: str = "fraudstack-transactions"
    kinesis_shards: int = Field(default=2, ge=1)
    firehose_stream: str = "fraudstack-raw-delivery"
    firehose_buffer_mb: int = Field(default=5, ge=1, le=128)
    firehose_buffer_seconds: int = Field(default=60, ge=0, le=900)
    raw_prefix: str = "raw/"
    labels_prefix: str = Field(
        default="labels/", description="label events in the lake (the bridge writes, the ETL loads)"
    )
    raw_error_prefix: str = "errors/"
    sns_topic: str = "fraudstack-alerts"
    ops_topic: str = "fraudstack-ops"
    alert_sender: str = "alerts@fraudstack.example.com"
    alert_recipients: list[str] = Field(default_factory=lambda: ["fraud-team@fraudstack.example.com"])
    ops_recipients: list[str] = Field(default_factory=list, description="e-mails for pipeline failures")
    # Local targets only: SQS queues subscribed to the topics so tests can read what was published.
    alerts_tap_queue: str = "fraudstack-alerts-tap"
    ops_tap_queue: str = "fraudstack-ops-tap"
    warehouse_secret_name: str = "fraudstack/warehouse"  # noqa: S105 - a name, not a secret
    aws_name_prefix: str = Field(default="fraudstack", description="names of the AWS-only resources")

    # --- observability ---------------------------------------------------------------------
    metrics_namespace: str = "fraudstack"
    metrics_enabled: bool = Field(default=True, description="publish CloudWatch metrics (PutMetricData)")

    # --- dashboard --------------------------------------------------------------------------
    dashboard_port: int = Field(default=8501, ge=1, le=65535)
    dashboard_url: str | None = Field(
        default=None,
        description="the dashboard's base URL in alert e-mails; on aws https://<its DNS name>/ (the "
        "template passes it), locally http://127.0.0.1:<dashboard_port>/",
    )
    dashboard_certificate_arn: str | None = Field(
        default=None, description="aws only: ACM certificate for the dashboard_url's host name (HTTPS)"
    )

    # --- warehouse (PostgreSQL locally, Redshift on AWS) ------------------------------------
    warehouse_dsn: SecretStr | None = Field(default=None, description="full DSN; overrides the parts")
    postgres_port: int = Field(default=55432, ge=1, le=65535)
    warehouse_database: str = "fraudstack"
    warehouse_user: str = "fraudstack"
    warehouse_password: SecretStr | None = Field(
        default=None, description="generated into the state dir on first `stack up` when unset"
    )
    warehouse_staging_prefix: str = Field(
        default="warehouse-staging/", description="S3 prefix (in `bucket`) for files being bulk-loaded"
    )
    warehouse_copy_role_arn: str | None = Field(
        default=None, description="Redshift only: IAM role its COPY assumes to read the staging files"
    )

    @field_validator("spark_java_options")
    @classmethod
    def _no_heap_option(cls, value: str) -> str:
        if any(option.startswith("-Xmx") for option in value.split()):
            raise ValueError("set the heap with FRAUDSTACK_SPARK_DRIVER_MEMORY, not -Xmx")
        return value

    @model_validator(mode="after")
    def _local_defaults(self) -> Settings:
        """Fill endpoints that depend on other settings; on AWS there is no endpoint override."""
        if not self.kafka_bootstrap_servers:
            self.kafka_bootstrap_servers = f"127.0.0.1:{self.kafka_port}"
        if self.target == "aws":
            self.aws_endpoint_url = None
        elif not self.aws_endpoint_url:
            self.aws_endpoint_url = f"http://127.0.0.1:{self.moto_port}"
        return self

    # --- derived values -----------------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        return self.target != "aws"

    @property
    def topic_replication(self) -> int:
        """Replicas of each topic created (``kafka_replication_factor`` or the target's default)."""
        if self.kafka_replication_factor is not None:
            return self.kafka_replication_factor
        return 1 if self.is_local else 3

    @property
    def kafka_protocol(self) -> str:
        """librdkafka's ``security.protocol``: ``kafka_security_protocol`` or the target's default."""
        if self.kafka_security_protocol is not None:
            return self.kafka_security_protocol
        return "PLAINTEXT" if self.is_local else "SSL"

    @property
    def dashboard_link(self) -> str:
        """The dashboard's base URL for links in alerts: ``dashboard_url``, else the local dashboard."""
        return self.dashboard_url or f"http://127.0.0.1:{self.dashboard_port}/"

    @property
    def state_path(self) -> Path:
        return self.state_dir.expanduser().resolve()

    @property
    def warehouse_password_file(self) -> Path:
        return self.state_path / "secrets" / "warehouse-password"

    def resolved_warehouse_password(self) -> str | None:
        """The warehouse password from the environment, else the one `stack up` generated."""
        if self.warehouse_password is not None:
            return self.warehouse_password.get_secret_value()
        if self.warehouse_password_file.exists():
            return self.warehouse_password_file.read_text().strip()
        return None

    def warehouse_url(self) -> str:
        """The DSN (``postgresql://...``) of the local warehouse; on AWS use Secrets Manager."""
        if self.warehouse_dsn is not None:
            return self.warehouse_dsn.get_secret_value()
        password = self.resolved_warehouse_password() or ""
        return (
            f"postgresql://{quote(self.warehouse_user)}:{quote(password, safe='')}"
            f"@127.0.0.1:{self.postgres_port}/{quote(self.warehouse_database)}"
        )

    def subprocess_env(self) -> dict[str, str]:
        """Environment variables that hand these settings to a child process unchanged."""
        env = {
            "FRAUDSTACK_TARGET": self.target,
            "FRAUDSTACK_STATE_DIR": str(self.state_path),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "AWS_REGION": self.aws_region,
            "AWS_DEFAULT_REGION": self.aws_region,
        }
        if self.aws_endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.aws_endpoint_url
        for name, field in type(self).model_fields.items():
            if name in {"target", "state_dir", "kafka_bootstrap_servers", "aws_endpoint_url", "aws_region"}:
                continue
            value = getattr(self, name)
            if value is None or value == field.default:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"FRAUDSTACK_{name.upper()}"] = json.dumps(value) if isinstance(value, list) else str(value)
        return env


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings`, turning validation errors into one readable line.

    Raises :class:`ConfigError` naming the variable to fix, so the CLI can print one
    line and exit non-zero instead of a pydantic traceback.
    """
    try:
        return Settings(**overrides)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the .env file is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8 or remove it"
        ) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        raise ConfigError(
            f"invalid setting FRAUDSTACK_{field.upper()}: {first['msg']} "
            f"(got {first.get('input')!r}); fix the environment variable or .env file"
        ) from None
