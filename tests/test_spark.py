"""Local Spark sessions: a JVM that cannot start is one clear error, not a gateway traceback."""

from __future__ import annotations

import os
import subprocess
import sys

_START = """
from fraudstack.errors import FraudstackError
from fraudstack.spark import spark_session
try:
    spark_session("bad-jvm-options")
except FraudstackError as error:
    print(type(error).__name__, error)
"""


def test_a_jvm_that_refuses_its_options_is_a_stack_error_naming_the_setting() -> None:
    # A fresh process: in this one a session may already run, and getOrCreate would reuse it.
    env = {**os.environ, "FRAUDSTACK_SPARK_JAVA_OPTIONS": "-XX:MaxHeapFreeRatio=not-a-number"}
    done = subprocess.run([sys.executable, "-c", _START], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.startswith("StackError local Spark's JVM exited at start"), done.stdout + done.stderr
    assert "FRAUDSTACK_SPARK_JAVA_OPTIONS" in done.stdout
    assert "MaxHeapFreeRatio" in done.stderr  # the JVM's own reason, for the user to read
