"""Kafka reads and writes the benchmark measures with: preload, lag, record-time spans, clean-up."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from app.lag_reader import MARKER_SLACK, only_markers
from app.log_ends import LogEnds, log_end_offsets


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def fast_producer(bootstrap: str, *, linger_ms: int = 20) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=linger_ms, max_batch_size=256 * 1024,
                            max_request_size=8 * 1024 * 1024)


async def produce_all(bootstrap: str, messages: Iterable[tuple[str, bytes, bytes]]) -> int:
    """Send (topic, key, value) messages as fast as the producer batches them; return the count."""
    producer = fast_producer(bootstrap)
    await producer.start()
    count = 0
    try:
        for topic, key, value in messages:
            await producer.send(topic, key=key, value=value)
            count += 1
        await producer.flush()
    finally:
        await producer.stop()
    return count


class GroupProgress:
    """How far a consumer group has committed on some topics, against their log end."""

    def __init__(self, bootstrap: str, group: str, topics: Iterable[str], partitions: int) -> None:
        self.group = group
        self.tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        self._bootstrap = bootstrap
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        self._ends = LogEnds(self._consumer)

    async def __aenter__(self) -> GroupProgress:
        await self._admin.start()
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()
        await self._admin.close()

    async def drained(self, committed: dict[TopicPartition, int], ends: dict[TopicPartition, int]) -> bool:
        """Every partition committed to its end, or only transaction markers left after the
        committed offset (exactly_once writes a commit marker after each transaction's records)."""
        for tp in self.tps:
            if committed[tp] >= ends[tp]:
                continue
            if ends[tp] - committed[tp] > MARKER_SLACK or not await self._markers_only(tp, committed[tp], ends[tp]):
                return False
        return True

    async def _markers_only(self, tp: TopicPartition, committed: int, end: int) -> bool:
        reader = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, isolation_level="read_committed",
                                  enable_auto_commit=False, fetch_max_wait_ms=100)
        await reader.start()
        try:
            return bool(await only_markers(reader, tp, committed, end, timeout_s=3.0))
        finally:
            await reader.stop()

    async def committed_and_end(self) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
        committed = await self._admin.list_consumer_group_offsets(self.group, partitions=self.tps)
        ends = await self._ends(self.tps)
        return ({tp: (meta.offset if meta is not None and meta.offset >= 0 else 0)
                 for tp, meta in ((tp, committed.get(tp)) for tp in self.tps)}, ends)


async def record_time_span(bootstrap: str, topics: Iterable[str], partitions: int) -> tuple[float, float] | None:
    """(first, last) record timestamp in seconds over the topics' partitions, or None if all are empty.

    The timestamps are the producers' send times, so the span of a worker's outputs is the
    time it spent producing them, whatever the polling around it.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                isolation_level="read_uncommitted", max_partition_fetch_bytes=64 * 1024 * 1024)
    await consumer.start()
    first: list[float] = []
    last: list[float] = []
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        begins = await consumer.beginning_offsets(tps)
        ends = await log_end_offsets(consumer, tps)
        for tp in tps:
            if ends[tp] <= begins[tp]:
                continue
            consumer.assign([tp])
            consumer.resume(tp)
            for offset, bucket in ((begins[tp], first), (max(begins[tp], ends[tp] - 8), last)):
                consumer.seek(tp, offset)
                records = (await consumer.getmany(tp, timeout_ms=5000, max_records=8)).get(tp, [])
                if records:
                    stamps = [r.timestamp / 1000 for r in records]
                    bucket.append(min(stamps) if bucket is first else max(stamps))
    finally:
        await consumer.stop()
    if not first or not last:
        return None
    return min(first), max(last)


async def topics_with_prefix(bootstrap: str, prefix: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if t.startswith(prefix))
    finally:
        await admin.close()


async def delete_topics_with_prefix(bootstrap: str, prefix: str) -> None:
    """Drop a finished run's topics so an in-memory broker does not keep every run's data."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if doomed:
            with contextlib.suppress(Exception):  # best effort: a leftover topic only costs memory
                await admin.delete_topics(doomed)
    finally:
        await admin.close()
