"""Kafka I/O of the connectors: envelopes onto `channel-orders`, alerts, and the cursor checkpoints.

Cursors live in the compacted topic `<prefix>.connector-cursors`, keyed ``channel:shop``:
the last record of a key is the shop's cursor. `CursorStore.load` reads the topic to its
end once at start. `produced_since` reads back the envelopes produced after a moment (a
checkpoint can be one window old when the process was killed: what it produced since is
on `channel-orders`, and the restarted connectors remember it instead of producing it again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from app import codec, tracing
from app.admin import ensure_topics, topic_partitions
from app.connectors.cursor import Cursor
from app.domain.identity import source_key
from app.domain.model import Alert
from app.log_ends import log_end_offsets
from app.topic_names import TopicNames

__all__ = ["CursorStore", "Outbox", "ensure_connector_topics", "produced_since"]


async def ensure_connector_topics(bootstrap: str, names: TopicNames, *, partitions: int, replication: int = 1,
                                  **client: object) -> None:
    await ensure_topics(bootstrap, [names.channel_orders, names.alerts], partitions=partitions,
                        replication=replication, **client)
    await ensure_topics(bootstrap, [names.connector_cursors], partitions=1, replication=replication,
                        config={"cleanup.policy": "compact"}, **client)


class Outbox:
    """What the connectors produce: envelopes and alerts (one producer)."""

    def __init__(self, producer: AIOKafkaProducer, names: TopicNames) -> None:
        self._producer = producer
        self._names = names

    async def envelope(self, channel: str, shop_id: str, external_id: str, payload: dict[str, Any]) -> Awaitable[Any]:
        """Queue one envelope; the returned future resolves when the broker has it."""
        value = orjson.dumps({"channel": channel, "shop_id": shop_id,
                              "received_at": datetime.now(UTC).isoformat(), "payload": payload})
        topic = self._names.channel_orders
        # the order's trace starts here; the workers continue it from the traceparent header
        with tracing.envelope(topic, channel, shop_id, external_id) as headers:
            return await self._producer.send(topic, value=value, headers=headers,
                                             key=source_key(channel, shop_id, external_id).encode())

    async def alert(self, kind: str, detail: str) -> None:
        value = codec.encode(Alert(kind=kind, oli="", at=datetime.now(UTC), detail=detail))
        await (await self._producer.send(self._names.alerts, value=value, key=kind.encode()))


class CursorStore:
    def __init__(self, producer: AIOKafkaProducer, bootstrap: str, names: TopicNames, **client: object) -> None:
        self._producer = producer
        self._bootstrap = bootstrap
        self._topic = names.connector_cursors
        self._client = client

    async def load(self) -> dict[str, Cursor]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False,
                                    auto_offset_reset="earliest", **self._client)  # type: ignore[arg-type]
        await consumer.start()
        cursors: dict[str, Cursor] = {}
        try:
            await consumer.topics()  # fetch metadata
            partitions = consumer.partitions_for_topic(self._topic) or {0}
            tps = [TopicPartition(self._topic, p) for p in partitions]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            remaining = {tp for tp in tps if ends[tp] > 0}
            while remaining:
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=500), timeout=30)
                for records in batch.values():
                    for record in records:
                        key = record.key.decode()
                        if record.value is None:
                            cursors.pop(key, None)
                        else:
                            cursors[key] = Cursor.from_json(orjson.loads(record.value))
                for tp in list(remaining):
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
        finally:
            await consumer.stop()
        return cursors

    async def save(self, key: str, cursor: Cursor) -> None:
        await (await self._producer.send(self._topic, key=key.encode(), value=orjson.dumps(cursor.to_json())))


async def produced_since(bootstrap: str, names: TopicNames, since: float, **client: object) -> list[dict[str, Any]]:
    """Every envelope on `channel-orders` with a broker timestamp at or after `since` (epoch s)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **client)  # type: ignore[arg-type]
    await consumer.start()
    envelopes: list[dict[str, Any]] = []
    try:
        tps = await topic_partitions(consumer, [names.channel_orders])
        if not tps:
            return envelopes
        ends = await log_end_offsets(consumer, tps)  # the embedded broker's raw answer stops short
        consumer.assign(tps)
        consumer.resume(*tps)
        starts = await consumer.offsets_for_times({tp: int(since * 1000) for tp in tps})
        remaining = set()
        for tp in tps:
            found = starts.get(tp)
            if found is not None and found.offset < ends[tp]:
                consumer.seek(tp, found.offset)
                remaining.add(tp)
        while remaining:
            batch = await asyncio.wait_for(consumer.getmany(*remaining, timeout_ms=500), timeout=30)
            for records in batch.values():
                envelopes.extend(orjson.loads(r.value) for r in records if r.value is not None)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return envelopes
