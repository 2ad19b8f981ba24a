"""Every change fraudstack makes to moto's internals, pinned to moto 5.2.5.

Why one module: moto's internals change between releases without notice. Keeping every
patch here, each naming its target, means an upgrade fails at start-up with one clear
:class:`PatchError` ("patch X: target Y is gone") instead of silently running nothing.
``tests/localaws/test_patches.py`` applies them all.

The patches:

- ``stepfunctions-execute``: turn on moto's Step Functions interpreter (its documented
  ``stepfunctions.execute_state_machine`` config, set in-process for the server).
- ``lambda-invoke``: ``LambdaFunction.invoke`` runs the real handler (:mod:`.lambda_runtime`)
  instead of needing Docker.
- ``glue-start-job-run`` / ``glue-job-run-state`` / ``glue-job-run-dict``: StartJobRun runs the
  script (:mod:`.glue_runner`); the run reports the state the script really reached, with
  ErrorMessage, CompletedOn and ExecutionTime.
- ``sfn-glue-sync``: ``arn:aws:states:::glue:startJobRun.sync``. moto 5.2.5's shared
  integration code calls ``interrupt_all()`` on the callback endpoint even for ``.sync``
  tasks, where it is ``None`` (Glue supports no ``.waitForTaskToken``), so every such task
  failed. The replacement runs the same ``.sync`` steps without that endpoint.

Known limit kept as is: a ``.sync`` Glue task's raw output holds datetimes (StartedOn ...),
which makes moto's ``DescribeExecution`` fail to serialise the output; definitions select
plain fields with ``ResultSelector`` (e.g. ``{"JobRunState.$": "$.JobRunState"}``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import moto

from fraudstack.localaws.glue_runner import GlueRunner, JobRun
from fraudstack.localaws.lambda_runtime import FunctionSpec, LambdaRuntime

MOTO_VERSION = "5.2.5"
#: Glue's default job timeout (minutes) when neither the job nor the run sets one.
_GLUE_DEFAULT_TIMEOUT_MIN = 2880
_GLUE_TERMINAL = {"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR"}


class PatchError(RuntimeError):
    """A patch's target is missing: this moto is not the one the patches were written for."""


@dataclass(frozen=True)
class Target:
    """An attribute of a class in moto that a patch replaces."""

    patch: str
    module: str
    owner: str
    attribute: str

    def resolve(self) -> tuple[type, Any]:
        """(class, current attribute value as stored), or :class:`PatchError` naming the patch."""
        where = f"{self.module}.{self.owner}.{self.attribute}"
        try:
            owner = getattr(importlib.import_module(self.module), self.owner)
            return owner, inspect.getattr_static(owner, self.attribute)
        except (ImportError, AttributeError) as exc:
            raise PatchError(
                f"moto patch {self.patch!r} cannot apply: {where} not found "
                f"in moto {moto.__version__} ({exc})"
            ) from exc


TARGETS: tuple[Target, ...] = (
    Target("lambda-invoke", "moto.awslambda.models", "LambdaFunction", "invoke"),
    Target("glue-start-job-run", "moto.glue.models", "FakeJob", "start_job_run"),
    Target("glue-job-run-state", "moto.glue.models", "FakeJobRun", "status"),
    Target("glue-job-run-dict", "moto.glue.models", "FakeJobRun", "as_dict"),
    Target(
        "sfn-glue-sync",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue",
        "StateTaskServiceGlue",
        "_eval_integration_pattern",
    ),
)

_applied_lock = threading.Lock()


def check_version() -> None:
    """Refuse to patch any moto but the pinned one."""
    if moto.__version__ != MOTO_VERSION:
        raise PatchError(
            f"fraudstack's moto patches are written for moto {MOTO_VERSION}, found {moto.__version__}; "
            "install moto[server]==5.2.5 or port fraudstack/localaws/patches.py"
        )


def apply(lambda_runtime: LambdaRuntime, glue_runner: GlueRunner) -> list[str]:
    """Apply every patch (idempotent); returns the patch names. Raises :class:`PatchError`."""
    check_version()
    resolved = {t.patch: t.resolve() for t in TARGETS}  # all targets checked before any change
    replacements: dict[str, Any] = {
        "lambda-invoke": _lambda_invoke(lambda_runtime),
        "glue-start-job-run": _glue_start_job_run(resolved["glue-start-job-run"][1], glue_runner),
        "glue-job-run-state": _glue_job_run_state(resolved["glue-job-run-state"][1]),
        "glue-job-run-dict": _glue_job_run_dict(resolved["glue-job-run-dict"][1]),
        "sfn-glue-sync": _glue_sync_integration,
    }
    with _applied_lock:
        _enable_step_functions_execution()
        for target in TARGETS:
            owner, current = resolved[target.patch]
            if getattr(current, "_fraudstack_patch", None) == target.patch:
                continue  # already applied in this process
            replacement = replacements[target.patch]
            replacement._fraudstack_patch = target.patch
            setattr(owner, target.attribute, replacement)
    return ["stepfunctions-execute", *replacements]


def applied(target: Target) -> bool:
    """Whether ``target`` currently holds fraudstack's replacement."""
    return getattr(target.resolve()[1], "_fraudstack_patch", None) == target.patch


def _enable_step_functions_execution() -> None:
    config = importlib.import_module("moto.core.config").default_user_config
    if "stepfunctions" not in config:
        raise PatchError(
            "moto patch 'stepfunctions-execute' cannot apply: no 'stepfunctions' in moto's config"
        )
    config["stepfunctions"]["execute_state_machine"] = True


# --- Lambda --------------------------------------------------------------------------------------
def _lambda_invoke(runtime: LambdaRuntime) -> Callable[..., bytes]:
    def invoke(self: Any, body: str, request_headers: Any, response_headers: dict[str, str]) -> bytes:
        """Run the handler; ``Event`` invocations run in the background and answer at once."""
        function = FunctionSpec(
            name=self.function_name,
            arn=self.function_arn,
            handler=self.handler,
            code_zip=self.code_bytes,
            environment=dict(self.environment_vars or {}),
            timeout_s=int(self.timeout),
            memory_mb=int(self.memory_size),
            version=str(self.version),
            region=self.region,
        )
        event = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        invocation_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            threading.Thread(target=runtime.invoke, args=(function, event), daemon=True).start()
            return b""
        result = runtime.invoke(function, event)
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        response_headers["x-amz-log-result"] = result.log_result_header
        return result.payload

    return invoke


# --- Glue ----------------------------------------------------------------------------------------
def _glue_start_job_run(original: Callable[..., str], runner: GlueRunner) -> Callable[..., str]:
    def start_job_run(self: Any, *args: Any, **kwargs: Any) -> str:
        """moto records the run (and checks MaxConcurrentRuns); then the script really runs."""
        run_id = original(self, *args, **kwargs)
        run = next(r for r in self.job_runs if r.job_run_id == run_id)
        run._fraudstack_state, run._fraudstack_error = "STARTING", None
        runner.start(
            JobRun(
                job_name=self.name,
                run_id=run_id,
                script_location=self.command["ScriptLocation"],
                arguments=dict(run.arguments or {}),
                timeout_minutes=int(run.timeout or _GLUE_DEFAULT_TIMEOUT_MIN),
            ),
            on_state=functools.partial(_set_run_state, run),
        )
        return str(run_id)

    return start_job_run


def _set_run_state(run: Any, state: str, error: str | None) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)  # moto keeps naive UTC datetimes
    run._fraudstack_state, run._fraudstack_error = state, error
    run.modified_on = now
    if state in _GLUE_TERMINAL:
        run.completed_on = now


class _PatchedProperty(property):
    """A property that can carry the ``_fraudstack_patch`` marker (plain ones cannot)."""


def _glue_job_run_state(original: property) -> property:
    def status(self: Any) -> str | None:
        """The state the script reached; moto's timed/manual progression only for others."""
        state = getattr(self, "_fraudstack_state", None)
        return str(state) if state is not None else original.fget(self)  # type: ignore[misc]

    return _PatchedProperty(status, original.fset)


def _glue_job_run_dict(original: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def as_dict(self: Any) -> dict[str, Any]:
        """Real timings and ErrorMessage instead of moto's constants."""
        result = original(self)
        state = getattr(self, "_fraudstack_state", None)
        if state is None:
            return result
        finished = state in _GLUE_TERMINAL
        end = self.completed_on if finished else datetime.now(UTC).replace(tzinfo=None)
        result["ExecutionTime"] = int((end - self.started_on).total_seconds())
        if not finished:
            result.pop("CompletedOn", None)
        if self._fraudstack_error:
            result["ErrorMessage"] = self._fraudstack_error
        return result

    return as_dict


# --- Step Functions -----------------------------------------------------------------------------
def _glue_sync_integration(
    self: Any,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> None:
    """moto's ``_eval_integration_pattern`` for ``.sync``, minus the ``None`` callback endpoint.

    Same steps as moto 5.2.5's StateTaskServiceCallback version: take the StartJobRun output,
    evaluate the timeout, then poll GetJobRun until a terminal state; a failed run raises
    the TaskFailed event built by moto's resolver.
    """
    task_output = env.stack.pop()
    self.timeout.eval(env=env)
    timeout_seconds = env.stack.pop()
    env.stack.append(task_output)
    sync_resolver = self._build_sync_resolver(
        env=env,
        resource_runtime_part=resource_runtime_part,
        normalised_parameters=normalised_parameters,
        state_credentials=state_credentials,
    )
    outcome = self._eval_sync(
        env=env,
        sync_resolver=sync_resolver,
        timeout_seconds=timeout_seconds,
        callback_endpoint=None,
        heartbeat_endpoint=None,
    )
    env.stack.append(outcome)
