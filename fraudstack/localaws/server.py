"""``python -m fraudstack.localaws.server --host 127.0.0.1 --port PORT``: moto with our extensions.

The stack launcher starts exactly this command with the settings in the environment
(``Settings.subprocess_env()``) and checks health with a real API call. It runs moto's own
server (threaded werkzeug) until SIGTERM/SIGINT, after:

- pointing moto's internal callbacks (Step Functions -> Glue/Lambda) at the real port
  (``MOTO_PORT``), which moto reads from the environment;
- applying :mod:`.patches` (Lambda runs handlers, Glue runs scripts, Step Functions executes);
- starting the Firehose delivery loop as a thread that is a client of this server;
- restoring S3 from ``$FRAUDSTACK_STATE_DIR/emulator/s3``, where every change is written
  through (:mod:`.s3_store`), so the lake and the model registry survive a restart;
- restoring Kinesis streams with their records from ``$FRAUDSTACK_STATE_DIR/emulator/kinesis``,
  where every accepted record is logged (:mod:`.kinesis_store`), and the Firehose delivery's
  positions from ``$FRAUDSTACK_STATE_DIR/emulator/firehose`` (:mod:`.firehose_delivery`), so
  records the bridge handed over reach the lake even after a ``kill -9``.

On exit it kills the Lambda/Glue child processes still running. Logs go to stderr.
"""

from __future__ import annotations

import _thread
import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moto import server as moto_server

from fraudstack.aws import client
from fraudstack.localaws import children, patches
from fraudstack.localaws.firehose_delivery import FirehoseDelivery
from fraudstack.localaws.glue_runner import GlueRunner
from fraudstack.localaws.kinesis_store import KinesisStore
from fraudstack.localaws.lambda_runtime import LambdaRuntime
from fraudstack.localaws.s3_store import S3Store
from fraudstack.settings import Settings, load_settings

log = logging.getLogger("fraudstack.localaws")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fraudstack.localaws.server", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    return parser.parse_args(argv)


def install(settings: Settings, endpoint_url: str) -> tuple[FirehoseDelivery, list[str]]:
    """Apply the moto patches at ``endpoint_url``, restore S3 and Kinesis; return the Firehose loop."""
    local = settings.model_copy(update={"aws_endpoint_url": endpoint_url, "target": "embedded"})
    work_dir = settings.state_path / "localaws"
    store = S3Store(s3_state_dir(settings))
    kinesis = KinesisStore(settings.state_path / "emulator" / "kinesis")
    applied = patches.apply(
        LambdaRuntime(work_dir / "lambda", endpoint_url),
        GlueRunner(work_dir / "glue", endpoint_url, settings.aws_region, client("s3", local)),
        store,
        kinesis,
    )
    restored = store.restore()
    log.info(
        "S3 restored from %s: %d buckets, %d objects in %.1fs",
        store.root,
        restored.buckets,
        restored.objects,
        restored.seconds,
    )
    streams = kinesis.restore()
    log.info(
        "Kinesis restored from %s: %d streams, %d records (%d past retention dropped) in %.1fs",
        kinesis.root,
        streams.streams,
        streams.records,
        streams.expired,
        streams.seconds,
    )
    delivery = FirehoseDelivery(
        client("firehose", local),
        client("kinesis", local),
        client("s3", local),
        positions=settings.state_path / "emulator" / "firehose",
    )
    return delivery, applied


def s3_state_dir(settings: Settings) -> Path:
    """Where the emulator keeps its S3 (``stack reset`` removes the whole state directory)."""
    return settings.state_path / "emulator" / "s3"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per request
    settings = load_settings(moto_port=args.port)
    connect_host = "127.0.0.1" if args.host in {"0.0.0.0", "::"} else args.host  # noqa: S104
    endpoint_url = f"http://{connect_host}:{args.port}"
    os.environ["MOTO_PORT"] = str(args.port)  # moto's callbacks read it: Step Functions -> Glue/Lambda

    delivery, applied = install(settings, endpoint_url)
    log.info("moto patches applied: %s", ", ".join(applied))
    stop = threading.Event()
    thread = threading.Thread(target=delivery.run, args=(stop,), name="firehose-delivery", daemon=True)
    thread.start()
    # moto's main() installs this module attribute as its SIGTERM/SIGINT handler.
    moto_server.signal_handler = _graceful(delivery, stop, thread)  # type: ignore[assignment]
    log.info("AWS emulator listening on %s (state in %s)", endpoint_url, settings.state_path)
    try:
        moto_server.main(["--host", args.host, "--port", str(args.port)])  # returns once stopped
    except SystemExit:
        pass
    finally:
        stop.set()
        children.kill_all()
        log.info("AWS emulator stopped")
    return 0


#: Seconds a graceful stop spends delivering Firehose's buffers (``stack down`` waits 15).
DRAIN_TIMEOUT_S = 10.0
#: A stop signal repeated within this many seconds is the same stop (see :func:`_graceful`).
REPEAT_WINDOW_S = 1.0


def _graceful(
    delivery: FirehoseDelivery, stop: threading.Event, thread: threading.Thread
) -> Callable[[int, Any], None]:
    """The emulator's SIGTERM/SIGINT handler: deliver Firehose's buffers, then exit.

    Records the bridge handed over (and committed in Kafka) are on disk and would be
    delivered after a restart anyway; draining delivers them now, so that S3 is complete
    while the emulator is down (``stack down``, then reading the lake's files). The drain
    runs on a thread because it talks to this server's own HTTP API, which the main thread
    keeps serving meanwhile; the drain's end, or a second signal, exits at once. A second
    signal within :data:`REPEAT_WINDOW_S` of the first is the same request, not an
    impatient operator: ``stack down`` signals the process group and then the process, and
    when the handler ran between the two, the second one used to exit before the drain.
    """
    stopping = threading.Event()
    drained = threading.Event()
    first_signal = [0.0]

    def finish() -> None:
        stop.set()
        thread.join(timeout=5)
        delivered = delivery.drain(DRAIN_TIMEOUT_S)
        log.info("firehose buffers %s before stopping", "delivered" if delivered else "NOT all delivered")
        drained.set()
        _thread.interrupt_main(signal.SIGTERM)

    def handler(_signum: int, _frame: Any) -> None:
        if stopping.is_set():
            if drained.is_set() or time.monotonic() - first_signal[0] >= REPEAT_WINDOW_S:
                sys.exit(0)
            return
        stopping.set()
        first_signal[0] = time.monotonic()
        threading.Thread(target=finish, name="firehose-drain", daemon=True).start()

    return handler


if __name__ == "__main__":
    raise SystemExit(main())
