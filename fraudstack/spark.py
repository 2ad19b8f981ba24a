"""The one way fraudstack builds a SparkSession, so a Glue script is written once.

On Glue (``awsglue`` importable) the session is the one Glue provides, already wired to
S3. Everywhere else it is a local Spark 3.5 (what Glue 5.0 runs) configured from the
settings: ``local[2]``, the s3a jars (:mod:`fraudstack.jars`: pyspark ships no
hadoop-aws and Maven is unreachable), the emulator as the s3a endpoint with path-style
access and its placeholder credentials, ``s3://`` mapped to S3A as on Glue, the running
interpreter for Python workers, loopback networking, few shuffle partitions and no UI
(small data, 2 cores).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import TYPE_CHECKING

from fraudstack.errors import StackError
from fraudstack.jars import s3a_jars
from fraudstack.settings import EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY, Settings, load_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_S3A = "org.apache.hadoop.fs.s3a.S3AFileSystem"


def on_glue() -> bool:
    """Whether this process runs inside AWS Glue (its ``awsglue`` library is importable)."""
    return importlib.util.find_spec("awsglue") is not None


def local_config(settings: Settings) -> dict[str, str]:
    """Spark configuration for a local session against the configured S3."""
    jars = s3a_jars(settings.spark_jars_dir)
    config = {
        "spark.master": "local[2]",
        "spark.driver.memory": settings.spark_driver_memory,
        # On the class path where they lie: ``spark.jars`` would copy their 185 MB into a
        # fresh temp folder per session, left behind whenever a job's JVM is killed.
        "spark.driver.extraClassPath": os.pathsep.join(str(j) for j in jars),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        # Jobs name their input objects; listing a hundred of them from the driver beats a
        # Spark job with one task per path (the default above 32 paths) on two local cores.
        "spark.sql.sources.parallelPartitionDiscovery.threshold": "1024",
        "spark.hadoop.fs.s3.impl": _S3A,
        "spark.hadoop.fs.s3a.impl": _S3A,
    }
    if settings.spark_java_options:
        config["spark.driver.extraJavaOptions"] = settings.spark_java_options
    if settings.is_local and settings.aws_endpoint_url:
        config.update(
            {
                "spark.hadoop.fs.s3a.endpoint": settings.aws_endpoint_url,
                "spark.hadoop.fs.s3a.endpoint.region": settings.aws_region,
                "spark.hadoop.fs.s3a.path.style.access": "true",
                "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
                "spark.hadoop.fs.s3a.access.key": EMULATOR_ACCESS_KEY_ID,
                "spark.hadoop.fs.s3a.secret.key": EMULATOR_SECRET_ACCESS_KEY,
                "spark.hadoop.fs.s3a.aws.credentials.provider": (
                    "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
                ),
            }
        )
    return config


def spark_session(app_name: str, settings: Settings | None = None) -> SparkSession:
    """The SparkSession for this target (Glue's own on Glue, else a configured local one)."""
    if on_glue():
        from awsglue.context import GlueContext
        from pyspark.context import SparkContext

        return GlueContext(SparkContext.getOrCreate()).spark_session

    from pyspark.sql import SparkSession

    # Read by pyspark when it starts the JVM and its Python workers, so set before building.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.errors import PySparkRuntimeError

    builder = SparkSession.builder.appName(app_name)
    for key, value in local_config(settings or load_settings()).items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except PySparkRuntimeError as exc:
        if exc.getErrorClass() != "JAVA_GATEWAY_EXITED":
            raise
        raise StackError(
            "local Spark's JVM exited at start (its reason is printed above): check"
            " FRAUDSTACK_SPARK_JAVA_OPTIONS and FRAUDSTACK_SPARK_DRIVER_MEMORY, and that Java 17 is installed"
        ) from exc
