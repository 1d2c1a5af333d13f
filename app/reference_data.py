"""Reference data on compacted topics (`rules`, `skus`): read them in full, follow them, publish.

Every worker reads every partition of both topics from the beginning with a plain
aiokafka consumer (no consumer group), so all workers hold the same snapshot and a
change reaches each of them within a fetch wait, without a restart. (A Faust
GlobalTable would be the obvious tool, but it is known to leave some workers without
updates when several run: robinhood/faust#541, #716.) The CLI uses the same reader to
list what is published.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from app.admin import client_security, ensure_reference_topics
from app.settings import Settings

#: a batch of changes: key → value (None = tombstone), in topic order
Changes = dict[str, bytes | None]


def _consumer(settings: Settings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                            auto_offset_reset="earliest", isolation_level="read_committed",
                            fetch_max_wait_ms=100, **client_security(settings))  # type: ignore[arg-type]


async def _partitions(settings: Settings, topics: Iterable[str], timeout_s: float = 30.0) -> list[TopicPartition]:
    """Every partition of `topics`. A topic created a moment ago may not be in the metadata
    yet (Apache Kafka propagates it asynchronously): ask again until it is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **client_security(settings))  # type: ignore[arg-type]
    await admin.start()
    try:
        while True:
            described = await admin.describe_topics(list(topics))
            found = {d["topic"]: [p["partition"] for p in d.get("partitions") or ()]
                     for d in described if d.get("error_code") == 0}
            missing = [t for t in topics if not found.get(t)]
            if not missing:
                return [TopicPartition(t, p) for t in topics for p in sorted(found[t])]
            if loop.time() > deadline:
                raise LookupError(f"topics not found on the broker: {', '.join(missing)}")
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


async def _assign_all(consumer: AIOKafkaConsumer, settings: Settings, topics: list[str]) -> list[TopicPartition]:
    partitions = await _partitions(settings, topics)
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    return partitions


async def follow(settings: Settings, topics: list[str],
                 apply: Callable[[str, Changes, bool], Awaitable[None] | None],
                 *, stop: asyncio.Event | None = None) -> None:
    """Read `topics` from the beginning, call `apply(topic, changes, caught_up)` per batch, forever
    (or until `stop` is set). `caught_up` is True once everything that existed at start was read."""
    consumer = _consumer(settings)
    await consumer.start()
    try:
        partitions = await _assign_all(consumer, settings, topics)
        ends = await consumer.end_offsets(partitions) if partitions else {}
        pending = {tp for tp, end in ends.items() if end > 0}
        if not pending:
            for topic in topics:
                await _call(apply, topic, {}, True)
        caught_up = not pending
        while stop is None or not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            by_topic: dict[str, Changes] = {}
            for tp, records in batch.items():
                changes = by_topic.setdefault(tp.topic, {})
                for r in records:
                    if r.key is not None:
                        changes[r.key.decode()] = r.value
            if not caught_up:
                pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
            done = not pending
            for topic in topics:
                if topic in by_topic or (done and not caught_up):
                    await _call(apply, topic, by_topic.get(topic, {}), done)
            caught_up = done
    finally:
        await consumer.stop()


async def _call(apply: Callable[[str, Changes, bool], Awaitable[None] | None], topic: str,
                changes: Changes, caught_up: bool) -> None:
    result = apply(topic, changes, caught_up)
    if result is not None:
        await result


async def read_all(settings: Settings, topic: str) -> Changes:
    """Everything on a compacted topic now: the last value per key (None = deleted)."""
    await ensure_reference_topics(settings)
    state: Changes = {}
    done = asyncio.Event()

    def apply(_: str, changes: Changes, caught_up: bool) -> None:
        state.update(changes)
        if caught_up:
            done.set()

    task = asyncio.create_task(follow(settings, [topic], apply, stop=done))
    await task
    return state


async def publish(settings: Settings, topic: str, messages: Iterable[tuple[str, bytes | None]]) -> int:
    await ensure_reference_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all",
                                **client_security(settings))  # type: ignore[arg-type]
    await producer.start()
    count = 0
    try:
        for key, value in messages:
            await producer.send(topic, key=key.encode(), value=value)
            count += 1
        await producer.flush()
    finally:
        await producer.stop()
    return count
