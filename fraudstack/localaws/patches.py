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
- ``kinesis-put-record`` / ``kinesis-get-records`` / ``kinesis-min-sequence`` /
  ``kinesis-max-sequence`` / ``kinesis-sequence-at``: moto 5.2.5's ``Shard`` copies its whole
  key list (``list(self.records.keys())[-1]``) to find the last sequence number on every put,
  and GetRecords scans the shard from its first record, so a shard slows down as it fills
  (several-fold by 40k records: BENCHMARKS.md, Kinesis shard index patch). A sorted list of
  sequence numbers kept beside moto's ``records`` dict makes a put O(1) amortised and
  GetRecords O(log n + k) (bisect), with the same sequence numbers, iterator positions and
  MillisBehindLatest.
- ``sqs-send-message``: moto 5.2.5's ``SQSBackend.send_message`` reads
  ``queue.attributes.get("ContentBasedDeduplication")``, and ``Queue.attributes`` computes every
  attribute, ApproximateNumberOfMessages (NotVisible, Delayed) included: three scans of the
  queue per send, so a send is O(messages in the queue). The alerts topic's SQS tap queue is
  never drained in long runs, so every SNS Publish slowed down as alerts piled up. For a
  standard queue that lookup is always ``None`` (FIFO attributes exist only on FIFO queues);
  the replacement runs moto's standard-queue steps without it and leaves FIFO queues to moto.
- ``sns-signing-certificate``: moto 5.2.5 builds and signs a new X.509 certificate for every
  message it delivers to an SQS or HTTP subscriber (``Subscription.get_post_data``) and keeps
  each one's PEM forever: two RSA signatures per alert and a dict that grows with every
  message. With the scorer's alerts that was a third of a core. AWS signs every message with
  one certificate that changes rarely; so does the replacement: the first message of a
  subscription goes through moto (certificate, key name, PEM served at ``SigningCertURL``),
  later ones reuse that certificate and only sign the message, with moto's key and fields.
- ``s3-durable-*``: S3 survives an emulator restart (:mod:`.s3_store`). ``CreateBucket``,
  ``DeleteBucket``, ``put_object`` (which PutObject, CopyObject, CompleteMultipartUpload and
  POST uploads all go through) and ``delete_object`` (DeleteObject, DeleteObjects) note what
  they changed; ``s3-durable-request`` wraps the server's WSGI entry point so those changes
  are on disk before the response is sent.
- ``kinesis-durable-*``: Kinesis streams survive an emulator restart (:mod:`.kinesis_store`).
  ``CreateStream`` and ``DeleteStream`` note the stream; ``Stream.put_record`` (which PutRecord
  and PutRecords both go through) notes the record it stored; ``s3-durable-request`` appends
  a request's records to their shards' logs, one write per shard, before the response is sent.

Known limit kept as is: a ``.sync`` Glue task's raw output holds datetimes (StartedOn ...),
which makes moto's ``DescribeExecution`` fail to serialise the output; definitions select
plain fields with ``ResultSelector`` (e.g. ``{"JobRunState.$": "$.JobRunState"}``).
"""

from __future__ import annotations

import bisect
import functools
import importlib
import inspect
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import moto

from fraudstack.localaws.glue_runner import GlueRunner, JobRun
from fraudstack.localaws.kinesis_store import KinesisStore
from fraudstack.localaws.lambda_runtime import FunctionSpec, LambdaRuntime
from fraudstack.localaws.s3_store import S3Store

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
    Target("kinesis-put-record", "moto.kinesis.models", "Shard", "put_record"),
    Target("kinesis-get-records", "moto.kinesis.models", "Shard", "get_records"),
    Target("kinesis-min-sequence", "moto.kinesis.models", "Shard", "get_min_sequence_number"),
    Target("kinesis-max-sequence", "moto.kinesis.models", "Shard", "get_max_sequence_number"),
    Target("kinesis-sequence-at", "moto.kinesis.models", "Shard", "get_sequence_number_at"),
    Target("sqs-send-message", "moto.sqs.models", "SQSBackend", "send_message"),
    Target("sns-signing-certificate", "moto.sns.models", "Subscription", "get_post_data"),
    Target("s3-durable-create-bucket", "moto.s3.models", "S3Backend", "create_bucket"),
    Target("s3-durable-delete-bucket", "moto.s3.models", "S3Backend", "delete_bucket"),
    Target("s3-durable-put-object", "moto.s3.models", "S3Backend", "put_object"),
    Target("s3-durable-delete-object", "moto.s3.models", "S3Backend", "delete_object"),
    Target("kinesis-durable-create-stream", "moto.kinesis.models", "KinesisBackend", "create_stream"),
    Target("kinesis-durable-delete-stream", "moto.kinesis.models", "KinesisBackend", "delete_stream"),
    Target("kinesis-durable-put", "moto.kinesis.models", "Stream", "put_record"),
    Target("s3-durable-request", "moto.moto_server.werkzeug_app", "DomainDispatcherApplication", "__call__"),
)

_applied_lock = threading.Lock()


def check_version() -> None:
    """Refuse to patch any moto but the pinned one."""
    if moto.__version__ != MOTO_VERSION:
        raise PatchError(
            f"fraudstack's moto patches are written for moto {MOTO_VERSION}, found {moto.__version__}; "
            "install moto[server]==5.2.5 or port fraudstack/localaws/patches.py"
        )


def apply(
    lambda_runtime: LambdaRuntime, glue_runner: GlueRunner, s3_store: S3Store, kinesis_store: KinesisStore
) -> list[str]:
    """Apply every patch (idempotent); returns the patch names. Raises :class:`PatchError`."""
    check_version()
    resolved = {t.patch: t.resolve() for t in TARGETS}  # all targets checked before any change
    replacements: dict[str, Any] = {
        "lambda-invoke": _lambda_invoke(lambda_runtime),
        "glue-start-job-run": _glue_start_job_run(resolved["glue-start-job-run"][1], glue_runner),
        "glue-job-run-state": _glue_job_run_state(resolved["glue-job-run-state"][1]),
        "glue-job-run-dict": _glue_job_run_dict(resolved["glue-job-run-dict"][1]),
        "sfn-glue-sync": _glue_sync_integration,
        "kinesis-put-record": _kinesis_put_record(resolved["kinesis-put-record"][1]),
        "kinesis-get-records": _kinesis_get_records(resolved["kinesis-get-records"][1]),
        "kinesis-min-sequence": _kinesis_min_sequence(resolved["kinesis-min-sequence"][1]),
        "kinesis-max-sequence": _kinesis_max_sequence(resolved["kinesis-max-sequence"][1]),
        "kinesis-sequence-at": _kinesis_sequence_at,
        "sqs-send-message": _sqs_send_message(resolved["sqs-send-message"][1]),
        "sns-signing-certificate": _sns_post_data(resolved["sns-signing-certificate"][1]),
        "s3-durable-create-bucket": _s3_bucket_change(resolved["s3-durable-create-bucket"][1], s3_store),
        "s3-durable-delete-bucket": _s3_bucket_change(resolved["s3-durable-delete-bucket"][1], s3_store),
        "s3-durable-put-object": _s3_object_change(resolved["s3-durable-put-object"][1], s3_store),
        "s3-durable-delete-object": _s3_object_change(resolved["s3-durable-delete-object"][1], s3_store),
        "s3-durable-request": _s3_durable_request(resolved["s3-durable-request"][1], s3_store, kinesis_store),
        "kinesis-durable-create-stream": _kinesis_stream_change(
            resolved["kinesis-durable-create-stream"][1], kinesis_store.created
        ),
        "kinesis-durable-delete-stream": _kinesis_stream_change(
            resolved["kinesis-durable-delete-stream"][1], kinesis_store.deleted
        ),
        "kinesis-durable-put": _kinesis_durable_put(resolved["kinesis-durable-put"][1], kinesis_store),
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


# --- Kinesis -------------------------------------------------------------------------------------
#: Guards every shard's records and index: moto's server is threaded, and its own put is not
#: safe for concurrency (two puts could read the same last number). Re-entrant because the
#: original put reads the last number through the patched ``get_max_sequence_number``.
_kinesis_lock = threading.RLock()


class _ShardIndex:
    """The sequence numbers of one shard's records, in insertion order, beside moto's dict.

    moto numbers each record last + 1, so the list is ascending and :func:`bisect.bisect_right`
    finds where an iterator resumes. ``records`` is the dict the list describes: moto replaces
    a shard's dict on SplitShard, and anything that adds or removes records behind our back
    changes its length or last key; either makes :func:`_shard_index` rebuild the list.
    """

    __slots__ = ("ascending", "keys", "records")

    def __init__(self, records: dict[int, Any]) -> None:
        self.records = records
        self.keys: list[int] = list(records)
        #: False only if something stored numbers out of order; then moto's code runs unchanged.
        self.ascending = all(a < b for a, b in zip(self.keys, self.keys[1:], strict=False))

    def describes(self, records: dict[int, Any]) -> bool:
        """Whether this index still matches ``records`` (O(1): identity, length, last key)."""
        if self.records is not records or len(self.keys) != len(records):
            return False
        return not self.keys or self.keys[-1] == next(reversed(records))


def _shard_index(shard: Any) -> _ShardIndex | None:
    """The shard's current index (built on first use, rebuilt if stale); None if not ascending.

    Call with ``_kinesis_lock`` held. Shards created before the patch, or whose dict moto
    replaced, pay one O(n) rebuild; every later call is O(1).
    """
    index: _ShardIndex | None = shard.__dict__.get("_fraudstack_index")
    if index is None or not index.describes(shard.records):
        index = _ShardIndex(shard.records)
        shard._fraudstack_index = index
    return index if index.ascending else None


def _kinesis_put_record(original: Callable[..., str]) -> Callable[..., str]:
    def put_record(self: Any, *args: Any, **kwargs: Any) -> str:
        """moto's own put (so the same Record and number), then the number joins the index.

        moto reads the last number via ``get_max_sequence_number``, which the index answers
        in O(1) instead of copying every key.
        """
        with _kinesis_lock:
            index = _shard_index(self)
            sequence_number = original(self, *args, **kwargs)
            if index is not None:
                index.keys.append(int(sequence_number))
            return sequence_number

    put_record.__wrapped__ = original  # type: ignore[attr-defined]  # tests compare with it
    return put_record


def _kinesis_get_records(original: Callable[..., tuple[list[Any], int, int]]) -> Callable[..., Any]:
    def get_records(self: Any, last_sequence_id: str, limit: int | None) -> tuple[list[Any], int, int]:
        """The records after ``last_sequence_id`` found by bisect instead of a scan from the start.

        Same answer as moto 5.2.5, quirks included: ``(records, last number returned or the
        one asked for, MillisBehindLatest of the last record returned)``; a negative limit
        returns everything; ``Limit=0`` returns everything when the iterator is before the
        first record and nothing otherwise (moto checks the count after each record it looks at).
        """
        with _kinesis_lock:
            index = _shard_index(self)
            if index is None or not (limit is None or type(limit) is int):
                return original(self, last_sequence_id, limit)
            keys = index.keys
            last = int(last_sequence_id)
            start = bisect.bisect_right(keys, last)
            available = len(keys) - start
            if limit is None or limit < 0:
                take = available
            elif limit == 0:
                take = available if start == 0 else 0
            else:
                take = min(limit, available)
            if take == 0:
                return [], last, 0
            records = self.records
            chosen = [records[key] for key in keys[start : start + take]]
            newest = records[keys[-1]]
            millis_behind_latest = int((newest.created_at - chosen[-1].created_at) * 1000)
            return chosen, keys[start + take - 1], millis_behind_latest

    get_records.__wrapped__ = original  # type: ignore[attr-defined]  # tests compare with it
    return get_records


def _kinesis_min_sequence(original: Callable[[Any], int]) -> Callable[[Any], int]:
    def get_min_sequence_number(self: Any) -> int:
        """The first record's number (0 if none) without copying the key list."""
        with _kinesis_lock:
            index = _shard_index(self)
            if index is None:
                return original(self)
            return index.keys[0] if index.keys else 0

    get_min_sequence_number.__wrapped__ = original  # type: ignore[attr-defined]  # tests compare with it
    return get_min_sequence_number


def _kinesis_max_sequence(original: Callable[[Any], int]) -> Callable[[Any], int]:
    def get_max_sequence_number(self: Any) -> int:
        """The last record's number (0 if none) without copying the key list (LATEST, put)."""
        with _kinesis_lock:
            index = _shard_index(self)
            if index is None:
                return original(self)
            return index.keys[-1] if index.keys else 0

    get_max_sequence_number.__wrapped__ = original  # type: ignore[attr-defined]  # tests compare with it
    return get_max_sequence_number


def _kinesis_sequence_at(self: Any, at_timestamp: float) -> int:
    """AT_TIMESTAMP: moto 5.2.5's search, minus its copy of every record to read the first.

    Still a scan back from the newest record: arrival times come from the wall clock, which
    may step back, so they are not bisected. Runs under the lock so that a concurrent put
    cannot change the dict while it is iterated.
    """
    with _kinesis_lock:
        records = self.records
        if not records or at_timestamp <= next(iter(records.values())).created_at:
            return 0
        found = next((r for r in reversed(records.values()) if r.created_at < at_timestamp), None)
        return found.sequence_number  # type: ignore[union-attr]


def _kinesis_stream_change(original: Callable[..., Any], note: Callable[[Any], None]) -> Callable[..., Any]:
    """CreateStream / DeleteStream: moto's own, then the store notes the stream it returned."""

    @functools.wraps(original)
    def change_stream(self: Any, *args: Any, **kwargs: Any) -> Any:
        stream = original(self, *args, **kwargs)
        note(stream)
        return stream

    return change_stream


def _kinesis_durable_put(original: Callable[..., tuple[str, str]], store: KinesisStore) -> Callable[..., Any]:
    @functools.wraps(original)
    def put_record(self: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
        """moto's put, then the stored record (its number and arrival time) goes to the shard's log."""
        sequence_number, shard_id = original(self, *args, **kwargs)
        with _kinesis_lock:
            record = self.shards[shard_id].records[int(sequence_number)]
        store.appended(self, shard_id, record)
        return sequence_number, shard_id

    return put_record


# --- SQS -----------------------------------------------------------------------------------------
def _sqs_send_message(original: Callable[..., Any]) -> Callable[..., Any]:
    from moto.sqs.exceptions import InvalidParameterValue
    from moto.sqs.models import MAXIMUM_MESSAGE_DELAY, Message, random

    def send_message(
        self: Any,
        queue_name: str,
        message_body: str,
        message_attributes: dict[str, Any] | None = None,
        delay_seconds: int | None = None,
        deduplication_id: str | None = None,
        group_id: str | None = None,
        system_attributes: dict[str, Any] | None = None,
        validate_group_id: bool = True,
    ) -> Any:
        """moto 5.2.5's send, minus ``queue.attributes`` (a scan of the queue) on standard queues.

        FIFO queues go to moto unchanged (content-based deduplication needs the attribute).
        On a standard queue the attribute is never there, so the steps are moto's without it:
        validate, default delay from the queue, build the Message (moto's random, so seeded
        ids are the same), explicit deduplication/group ids, message attributes, the delay
        limit (same error), mark sent, add to the queue.
        """
        queue = self.get_queue(queue_name)
        if queue.fifo_queue:
            return original(
                self,
                queue_name,
                message_body,
                message_attributes=message_attributes,
                delay_seconds=delay_seconds,
                deduplication_id=deduplication_id,
                group_id=group_id,
                system_attributes=system_attributes,
                validate_group_id=validate_group_id,
            )

        self._validate_message(
            queue,
            message_body=message_body,
            delay_seconds=int(delay_seconds or 0),
            deduplication_id=deduplication_id,
            group_id=group_id,
            validate_group_id=validate_group_id,
        )
        delay = int(delay_seconds) if delay_seconds is not None else queue.delay_seconds
        message = Message(str(random.uuid4()), message_body, system_attributes)
        if deduplication_id is not None:
            message.deduplication_id = deduplication_id
            message.sequence_number = "".join(random.choice(string.digits) for _ in range(20))
        if group_id is not None:
            message.group_id = group_id
        if message_attributes:
            message.message_attributes = message_attributes
        if delay > MAXIMUM_MESSAGE_DELAY:
            raise InvalidParameterValue(
                f"Value {delay} for parameter DelaySeconds is invalid. "
                "Reason: DelaySeconds must be >= 0 and <= 900."
            )
        message.mark_sent(delay_seconds=delay)
        queue.add_message(message)
        return message

    send_message.__wrapped__ = original  # type: ignore[attr-defined]  # tests compare with it
    return send_message


# --- SNS -----------------------------------------------------------------------------------------
def _sns_post_data(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from moto.core.utils import iso_8601_datetime_with_milliseconds

    @functools.wraps(original)
    def get_post_data(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None,
        message_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """moto's notification body, signed with the subscription's one certificate.

        The first call is moto's own (it makes the certificate and serves its PEM); later
        calls build the same fields and sign the same string with the same key (moto's
        ``private_key`` is cached per subscription), under the first call's ``SigningCertURL``.
        """
        cert_url: str | None = getattr(self, "_fraudstack_signing_cert_url", None)
        if cert_url is None:
            first: dict[str, Any] = original(self, message, message_id, subject, message_attributes)
            self._fraudstack_signing_cert_url = first["SigningCertURL"]
            return first
        timestamp = iso_8601_datetime_with_milliseconds()
        string_to_sign = (
            f"Message\n{message}\nMessageId\n{message_id}\nTimestamp\n{timestamp}\n"
            f"TopicArn\n{self.topic.arn}\nType\nNotification\n"
        )
        signature = self.private_key().sign(
            string_to_sign.encode("UTF-8"), padding.PKCS1v15(), hashes.SHA256()
        )
        post_data: dict[str, Any] = {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": self.topic.arn,
            "Message": message,
            "Timestamp": timestamp,
            "SignatureVersion": "2",
            "Signature": base64.b64encode(signature).decode("utf-8"),
            "SigningCertURL": cert_url,
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
            f"arn:aws:sns:us-east-1:{self.account_id}:{self.topic.name}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        }
        if subject:
            post_data["Subject"] = subject
        if message_attributes:
            post_data["MessageAttributes"] = message_attributes
        return post_data

    return get_post_data


# --- S3 durability -------------------------------------------------------------------------------
def _s3_bucket_change(original: Callable[..., Any], store: S3Store) -> Callable[..., Any]:
    @functools.wraps(original)
    def change_bucket(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, bucket_name, *args, **kwargs)
        finally:
            store.changed(bucket_name)

    return change_bucket


def _s3_object_change(original: Callable[..., Any], store: S3Store) -> Callable[..., Any]:
    @functools.wraps(original)
    def change_object(self: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, bucket_name, key_name, *args, **kwargs)
        finally:
            store.changed(bucket_name, key_name)

    return change_object


def _s3_durable_request(
    original: Callable[..., Any], store: S3Store, kinesis_store: KinesisStore
) -> Callable[..., Any]:
    """The WSGI entry point: moto has built the whole response when it returns; flush, then send.

    Also Kinesis's: a PutRecords of 500 records is one write per shard rather than 500.
    """

    @functools.wraps(original)
    def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        store.begin_request()
        kinesis_store.begin_request()
        try:
            response = original(self, environ, start_response)
        finally:
            try:
                store.flush()
            finally:
                kinesis_store.flush()
        return response

    return call
