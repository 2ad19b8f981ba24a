"""Runs a Lambda function's real handler from its uploaded zip, in a local Python process.

Why a subprocess of the emulator's own interpreter (``sys.executable``): without Docker there
is no Lambda image, and the venv already holds what our handlers import on AWS from their
zip or a layer (boto3, psycopg2). The handler still gets only what Lambda would give it:
its code directory first on ``sys.path`` and as working directory, the function's
``Environment`` variables, the region, placeholder credentials and ``AWS_ENDPOINT_URL``
pointing back at the emulator, so its boto3 calls land here.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fraudstack.localaws import children
from fraudstack.settings import EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY

log = logging.getLogger(__name__)

_BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
#: AWS gives the init phase (imports) 10 s on top of the function timeout; the child enforces
#: the function timeout itself, this is only the backstop for a child stuck before its timer.
_INIT_ALLOWANCE_S = 10
_LOG_TAIL_BYTES = 4096


@dataclass(frozen=True)
class FunctionSpec:
    """What an invocation needs to know about the deployed function."""

    name: str
    arn: str
    handler: str
    code_zip: bytes
    environment: Mapping[str, str]
    timeout_s: int
    memory_mb: int
    version: str
    region: str


@dataclass(frozen=True)
class InvokeResult:
    """The Invoke response: payload, ``FunctionError`` (None on success) and log tail."""

    payload: bytes
    function_error: str | None
    log_tail: str

    @property
    def log_result_header(self) -> str:
        """``X-Amz-Log-Result``: base64 of the last 4 KB of the logs, as on AWS."""
        tail = self.log_tail.encode("utf-8")[-_LOG_TAIL_BYTES:]
        return base64.b64encode(tail).decode("ascii")


def _error(message: str, error_type: str) -> InvokeResult:
    body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
    return InvokeResult(payload=body, function_error="Unhandled", log_tail=message)


class LambdaRuntime:
    """Invokes functions; unpacked code is cached by the zip's SHA-256."""

    def __init__(self, cache_dir: Path, endpoint_url: str) -> None:
        self._cache_dir = cache_dir
        self._endpoint_url = endpoint_url
        self._unpack_lock = threading.Lock()

    def invoke(self, function: FunctionSpec, event: bytes) -> InvokeResult:
        """Run the handler once with ``event`` and return what Lambda's Invoke would."""
        code_dir = self._code_dir(function.code_zip)
        with tempfile.TemporaryDirectory(prefix="invoke-", dir=self._cache_dir) as scratch:
            result_file = Path(scratch) / "result.json"
            log_file = Path(scratch) / "log.txt"
            with log_file.open("wb") as logs:
                proc = children.start(
                    [
                        sys.executable,
                        str(_BOOTSTRAP),
                        function.handler,
                        str(function.timeout_s),
                        str(result_file),
                    ],
                    env=self._environment(function, code_dir),
                    cwd=code_dir,
                    stdin=subprocess.PIPE,
                    stdout=logs,
                    stderr=subprocess.STDOUT,
                )
                try:
                    proc.communicate(event or b"{}", timeout=function.timeout_s + _INIT_ALLOWANCE_S)
                except subprocess.TimeoutExpired:
                    children.kill(proc)
                finally:
                    children.forget(proc)
            log_text = log_file.read_text(encoding="utf-8", errors="replace")
            for line in log_text.splitlines():
                log.info("lambda %s | %s", function.name, line)
            if not result_file.exists():
                if proc.returncode is not None and proc.returncode < 0:
                    return _error(
                        f"Task timed out after {function.timeout_s:.2f} seconds", "Sandbox.Timedout"
                    )
                return _error(
                    f"Runtime exited with error: exit status {proc.returncode}", "Runtime.ExitError"
                )
            result = json.loads(result_file.read_text(encoding="utf-8"))
        payload = json.dumps(result["payload"]).encode("utf-8")
        return InvokeResult(
            payload=payload, function_error=None if result["ok"] else "Unhandled", log_tail=log_text
        )

    def _environment(self, function: FunctionSpec, code_dir: Path) -> dict[str, str]:
        """The handler's whole environment: Lambda's runtime variables plus the function's own."""
        python_bin = Path(sys.executable).parent
        env = {
            "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(code_dir),
            "_HANDLER": function.handler,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_VERSION": function.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout_s),
            "FRAUDSTACK_LAMBDA_FUNCTION_ARN": function.arn,
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_ACCESS_KEY_ID": EMULATOR_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": EMULATOR_SECRET_ACCESS_KEY,
        }
        env.update(function.environment)
        # Set last: the function must talk to this emulator even if its config names another.
        env["AWS_ENDPOINT_URL"] = self._endpoint_url
        return env

    def _code_dir(self, code_zip: bytes) -> Path:
        """The unpacked code for this zip, unpacked once per distinct content."""
        target = self._cache_dir / hashlib.sha256(code_zip).hexdigest()
        with self._unpack_lock:
            if not target.is_dir():
                self._cache_dir.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=self._cache_dir))
                try:
                    with zipfile.ZipFile(io.BytesIO(code_zip)) as archive:
                        archive.extractall(staging)
                    staging.rename(target)
                except BaseException:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise
        return target
