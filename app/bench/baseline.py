"""The bare baseline: aiokafka consume → orjson decode → encode → produce, no state, no framework.

It reads the same preloaded input topics as the pipeline and writes every message, keyed
as it came, to `<input>.baseline`. That is about the most one Python process can move
through Kafka here; the pipeline's throughput is reported as a share of it.
"""

from __future__ import annotations

import time

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from app.admin import ensure_topics
from app.bench.errors import BenchError
from app.bench.probes import fast_producer

BASELINE_SUFFIX = ".baseline"


async def run_baseline(bootstrap: str, topics: list[str], partitions: int, expected: int,
                       timeout_s: float) -> tuple[float, float]:
    """(events per second, events per CPU-second), from the first record fetched to the last
    output acknowledged."""
    await ensure_topics(bootstrap, [t + BASELINE_SUFFIX for t in topics], partitions=partitions)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    producer = fast_producer(bootstrap)
    await consumer.start()
    await producer.start()
    try:
        consumer.assign([TopicPartition(t, p) for t in topics for p in range(partitions)])
        await consumer.seek_to_beginning()
        seen = 0
        started: float | None = None
        cpu_started = 0.0
        deadline = time.monotonic() + timeout_s
        while seen < expected:
            if time.monotonic() > deadline:
                raise BenchError(f"baseline: {seen} of {expected} events after {timeout_s:.0f} s")
            batch = await consumer.getmany(timeout_ms=100)
            if batch and started is None:
                started, cpu_started = time.monotonic(), time.process_time()
            for tp, records in batch.items():
                out = tp.topic + BASELINE_SUFFIX
                for record in records:
                    try:
                        value = orjson.dumps(orjson.loads(record.value))
                    except orjson.JSONDecodeError:
                        value = record.value  # a poison message: forwarded as it came, like a DLQ
                    await producer.send(out, key=record.key, value=value)
                seen += len(records)
        await producer.flush()
        assert started is not None
        return expected / (time.monotonic() - started), expected / (time.process_time() - cpu_started)
    finally:
        await producer.stop()
        await consumer.stop()
