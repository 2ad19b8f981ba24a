"""Runs one Lambda invocation inside a child process (started by :mod:`.lambda_runtime`).

Usage: ``python lambda_bootstrap.py HANDLER TIMEOUT_SECONDS RESULT_FILE`` with the event on
stdin and the unpacked code directory as the working directory.

Why a separate script: the handler must run with the function's own environment and code
on ``sys.path``, isolated from the emulator process. Like AWS, the module import (init phase)
is not part of the function timeout; the timeout starts with the handler call, and a timer
writes the timeout error and ends the process, so even a handler stuck in C code stops.
It writes ``{"ok": bool, "payload": ...}`` to RESULT_FILE so the handler's own prints (its
logs) never mix with the result. This file is run by path and imports only the standard
library, so it does not itself put ``fraudstack`` on the handler's path.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import traceback
import uuid
from typing import Any

_done = threading.Lock()


class _Context:
    """The subset of the Lambda context object handlers commonly use."""

    def __init__(self, timeout_s: float) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("FRAUDSTACK_LAMBDA_FUNCTION_ARN", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.aws_request_id
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _finish(result_file: str, ok: bool, payload: Any) -> bool:
    """Write the result unless one was written already (handler end and timeout race).

    The lock is never released: whoever takes it owns the result file for good.
    """
    if not _done.acquire(blocking=False):
        return False
    with open(result_file, "w", encoding="utf-8") as out:
        json.dump({"ok": ok, "payload": payload}, out)
    sys.stdout.flush()
    sys.stderr.flush()
    return True


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def main(handler: str, timeout_s: float, result_file: str) -> int:
    sys.path.insert(0, os.getcwd())
    event = json.loads(sys.stdin.read() or "{}")
    try:
        module_name, function_name = handler.rsplit(".", 1)
        function = getattr(importlib.import_module(module_name.replace("/", ".")), function_name)
    except Exception as exc:  # init errors are reported like AWS Runtime.* errors
        traceback.print_exc()
        _finish(result_file, False, {**_error(exc), "errorType": "Runtime.ImportModuleError"})
        return 1

    def on_timeout() -> None:
        message = f"Task timed out after {timeout_s:.2f} seconds"
        if _finish(result_file, False, {"errorMessage": message, "errorType": "Sandbox.Timedout"}):
            print(message, file=sys.stderr, flush=True)
            os._exit(1)

    timer = threading.Timer(timeout_s, on_timeout)
    timer.daemon = True
    timer.start()
    try:
        payload = function(event, _Context(timeout_s))
        json.dumps(payload)  # an unserialisable result is a function error, as on AWS
    except Exception as exc:
        traceback.print_exc()
        _finish(result_file, False, _error(exc))
        return 1
    finally:
        timer.cancel()
    _finish(result_file, True, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2]), sys.argv[3]))
