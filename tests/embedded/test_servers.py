"""Every server of the embedded stack answers real clients."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import psycopg2
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from fraudstack import aws
from tests.support.stack import RunningStack


def test_kafka_produce_and_consume(stack: RunningStack) -> None:
    bootstrap = stack.settings.kafka_bootstrap_servers
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)]).values():
        future.result(timeout=10)

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    sent = {f"k{i}": f"v{i}" for i in range(200)}
    for key, value in sent.items():
        producer.produce(topic, key=key, value=value)
    assert producer.flush(10) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    consumer.subscribe([topic])
    received: dict[str, str] = {}
    try:
        for _ in range(100):
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                assert msg.error() is None
                received[msg.key().decode()] = msg.value().decode()
            if len(received) == len(sent):
                break
    finally:
        consumer.close()
    assert received == sent


def test_s3_round_trip(stack: RunningStack) -> None:
    s3 = aws.client("s3", stack.settings)
    bucket = f"roundtrip-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="raw/2026/11/29/17/a.json", Body=b'{"a": 1}\n')
    body = s3.get_object(Bucket=bucket, Key="raw/2026/11/29/17/a.json")["Body"].read()
    assert json.loads(body) == {"a": 1}


def test_kinesis_round_trip(stack: RunningStack) -> None:
    kinesis = aws.client("kinesis", stack.settings)
    name = f"roundtrip-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    records = [{"Data": f"record-{i}".encode(), "PartitionKey": "card-1"} for i in range(10)]
    assert kinesis.put_records(StreamName=name, Records=records)["FailedRecordCount"] == 0
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    got = kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [r["Data"] for r in got] == [r["Data"] for r in records]


def test_postgres_query(stack: RunningStack) -> None:
    with psycopg2.connect(stack.settings.warehouse_url()) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_database(), %s::int + 1", (41,))
        assert cur.fetchone() == (stack.settings.warehouse_database, 42)
        cur.execute("SHOW listen_addresses")
        assert cur.fetchone() == ("127.0.0.1",)


def test_status_json_reports_every_server_healthy(stack: RunningStack) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fraudstack", "stack", "status", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["healthy"] is True
    assert set(status["servers"]) == {"aws", "warehouse", "kafka"}
    assert status["kafka_bootstrap_servers"] == stack.settings.kafka_bootstrap_servers
    assert status["aws_endpoint_url"] == stack.settings.aws_endpoint_url
    assert status["warehouse_dsn"] == stack.settings.warehouse_url()


def test_up_twice_reports_what_runs(stack: RunningStack) -> None:
    started, already, _ = stack.embedded.up()
    assert started == []
    assert sorted(already) == ["aws", "kafka", "warehouse"]
