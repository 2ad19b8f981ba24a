"""Settings fields that name an AWS resource of the pipeline (the declaration and compose use them)."""

from __future__ import annotations

#: Each must be declared. (``kafka_storage_bucket`` is the broker's own storage, made by
#: ``stack up``, not the pipeline.)
RESOURCE_NAME_FIELDS = (
    "bucket",
    "artifacts_bucket",
    "kinesis_stream",
    "firehose_stream",
    "sns_topic",
    "ops_topic",
    "alert_sender",
    "warehouse_secret_name",
)
#: Declared on local targets only: the topics' SQS taps that tests read.
LOCAL_ONLY_FIELDS = ("alerts_tap_queue", "ops_tap_queue")
