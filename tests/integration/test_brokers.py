"""Integration tests of the broker harness against the session broker (ORDERHUB_TEST_BROKER)."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from app.brokers import probe_transactions_async
from app.dlq_tool import DlqTool
from app.log_ends import LogEnds, after_last_records, log_end_offsets
from app.settings import Settings
from app.topic_names import TopicNames

pytestmark = pytest.mark.integration


def _topic(prefix: str) -> str:
    return f"orderhub-test-{prefix}-{uuid.uuid4().hex[:10]}"


async def _create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


async def _consume(
    bootstrap: str,
    topic: str,
    *,
    until: int,
    isolation_level: str = "read_uncommitted",
    group: bool = True,
    timeout_s: float = 30.0,
    settle: float = 0.0,
) -> list[bytes]:
    """Read *topic* from the beginning until *until* values arrived (then *settle* more seconds)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        # a consumer group exercises the group coordinator (Tansu delays each first join ~5 s)
        group_id=f"orderhub-test-{uuid.uuid4().hex[:10]}" if group else None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level=isolation_level,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(values) < until and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                values.extend(r.value for r in records)
        settle_until = loop.time() + settle
        while loop.time() < settle_until:
            batches = await consumer.getmany(timeout_ms=250)
            for records in batches.values():
                values.extend(r.value for r in records)
    finally:
        await consumer.stop()
    return values


async def test_produce_and_consume_100_messages(broker) -> None:
    topic = _topic("roundtrip")
    await _create_topic(broker.bootstrap, topic)
    sent = [f"message-{i:03d}".encode() for i in range(100)]

    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    await producer.start()
    try:
        for i, value in enumerate(sent):
            await producer.send(topic, value, key=str(i).encode())
        await producer.flush()
    finally:
        await producer.stop()

    received = await _consume(broker.bootstrap, topic, until=len(sent))
    assert received == sent  # one partition: exact order, nothing lost, nothing duplicated


async def test_supports_transactions_flag_matches_probe(broker) -> None:
    assert await probe_transactions_async(broker.bootstrap) is broker.supports_transactions


@pytest.mark.kafka_only
async def test_read_committed_hides_aborted_transaction(broker) -> None:
    assert broker.supports_transactions, f"the {broker.kind} broker at {broker.bootstrap} has no transactions"
    topic = _topic("txn")
    await _create_topic(broker.bootstrap, topic)
    aborted = [f"aborted-{i}".encode() for i in range(5)]
    committed = [f"committed-{i}".encode() for i in range(5)]

    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap,
        transactional_id=f"orderhub-test-{uuid.uuid4().hex[:10]}",
    )
    await producer.start()
    try:
        await producer.begin_transaction()
        for value in aborted:
            await producer.send(topic, value)
        await producer.flush()
        await producer.abort_transaction()

        await producer.begin_transaction()
        for value in committed:
            await producer.send(topic, value)
        await producer.commit_transaction()
    finally:
        await producer.stop()

    seen_committed = await _consume(
        broker.bootstrap,
        topic,
        until=len(committed),
        isolation_level="read_committed",
        group=False,
        settle=1.0,
    )
    assert seen_committed == committed

    # the aborted records really are in the log: a read_uncommitted consumer sees them
    seen_all = await _consume(broker.bootstrap, topic, until=len(aborted) + len(committed), group=False)
    assert seen_all == aborted + committed


async def test_log_end_offsets_count_every_record_of_the_last_batch(broker) -> None:
    """Tansu reports the last batch's base offset + 1 as the end; `log_end_offsets` reads past it."""
    topic = _topic("ends")
    await _create_topic(broker.bootstrap, topic, partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=50)
    await producer.start()
    try:
        # 1 record, then 7 in one batch on partition 0; nothing on partition 1
        await (await producer.send(topic, b"first", partition=0))
        await asyncio.gather(*[await producer.send(topic, b"x", partition=0) for _ in range(7)])
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        ends = LogEnds(consumer)
        assert await ends(tps) == {tps[0]: 8, tps[1]: 0}
        assert await ends(tps) == {tps[0]: 8, tps[1]: 0}  # remembered, not fetched again
        assert await log_end_offsets(consumer, tps[:1]) == {tps[0]: 8}
    finally:
        await consumer.stop()


async def test_the_dlq_tool_lists_every_entry_of_a_dlq_whose_last_batch_holds_several(broker) -> None:
    """`orderhub dlq list/replay` read to the true end: on the embedded broker a DLQ whose last
    batch held two entries once listed one of them, and the replay left the other behind."""
    prefix = _topic("dlq")
    settings = Settings.from_env(env={}, broker=broker.bootstrap, topic_prefix=prefix)
    dlq = TopicNames(prefix).dlq(TopicNames(prefix).wms_events)
    await _create_topic(broker.bootstrap, dlq, partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=50)
    await producer.start()
    try:
        def entry(i: int) -> bytes:
            return orjson.dumps({"topic": TopicNames(prefix).wms_events, "error_type": "unknown_order",
                                 "error": f"entry {i}", "attempts": 1})

        await (await producer.send(dlq, entry(0), key=b"k0", partition=0))
        await asyncio.gather(*[await producer.send(dlq, entry(i), key=b"k%d" % i, partition=0) for i in range(1, 8)])
    finally:
        await producer.stop()
    entries = await DlqTool(settings).entries(topic="wms-events")
    assert [r.entry["error"] for r in entries] == [f"entry {i}" for i in range(8)]


@pytest.mark.kafka_only
async def test_after_last_records_finds_the_last_committed_record_behind_markers_and_aborted_batches(broker) -> None:
    """Under exactly_once a changelog ends with a transaction marker; table recovery's end is
    the offset after the last committed record (`after_last_records`), found behind a commit
    marker, behind an aborted transaction, and 0 where nothing was ever committed."""
    topic = _topic("txn-ends")
    await _create_topic(broker.bootstrap, topic, partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap,
                                transactional_id=f"orderhub-test-{uuid.uuid4().hex[:10]}")
    await producer.start()
    try:
        await producer.begin_transaction()  # partition 0: 3 records at 0..2, commit marker at 3
        for i in range(3):
            await producer.send(topic, f"c{i}".encode(), partition=0)
        await producer.commit_transaction()
        await producer.begin_transaction()  # partition 1: 2 committed at 0..1 (+ marker), 20 aborted
        for i in range(2):
            await producer.send(topic, f"c{i}".encode(), partition=1)
        await producer.commit_transaction()
        await producer.begin_transaction()
        for i in range(20):
            await producer.send(topic, f"a{i}".encode(), partition=1)
        await producer.send(topic, b"a", partition=2)  # partition 2: an aborted record only
        await producer.flush()
        await producer.abort_transaction()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                                isolation_level="read_committed")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(3)]
        ends = await LogEnds(consumer)(tps)
        assert ends == {tps[0]: 4, tps[1]: 24, tps[2]: 2}  # the last stable offsets: after the markers
        assert await after_last_records(consumer, ends) == {tps[0]: 3, tps[1]: 2, tps[2]: 0}
    finally:
        await consumer.stop()


@pytest.mark.kafka_only
async def test_the_harness_reads_a_topic_to_its_end_behind_markers_and_aborted_batches(broker) -> None:
    """`Pipeline.read_all` (what the exactly-once checks read outputs with) returns every committed
    record and stops at the end, also where a partition ends with a marker or aborted records."""
    from tests.integration.harness import PARTITIONS, Pipeline

    topic = _topic("read-all")
    await _create_topic(broker.bootstrap, topic, partitions=PARTITIONS)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap,
                                transactional_id=f"orderhub-test-{uuid.uuid4().hex[:10]}")
    await producer.start()
    try:
        await producer.begin_transaction()
        for i in range(3):
            await producer.send(topic, f'{{"c": {i}}}'.encode(), partition=0)
        for i in range(3, 5):
            await producer.send(topic, f'{{"c": {i}}}'.encode(), partition=1)
        await producer.commit_transaction()
        await producer.begin_transaction()
        for i in range(20):
            await producer.send(topic, f'{{"a": {i}}}'.encode(), partition=1 + i % 2)
        await producer.flush()
        await producer.abort_transaction()
    finally:
        await producer.stop()
    reader = SimpleNamespace(bootstrap=broker.bootstrap)  # only what read_all uses of a Pipeline
    reader._reader = lambda name: Pipeline._reader(reader, name)  # type: ignore[arg-type]
    records = await asyncio.wait_for(Pipeline.read_all(reader, topic), timeout=60)  # type: ignore[arg-type]
    assert sorted(r["c"] for r in records) == [0, 1, 2, 3, 4]
