"""The warehouse side of a benchmark run: read fulfillment commands, answer each SHIP with acks.

It also records when each order's first SHIP command reached Kafka (the record timestamp),
which is the end point of the payment → command latency.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from app.bench.workload import ACK_EVENTS, wms_ack
from app.topic_names import TopicNames


class Warehouse:
    def __init__(self, bootstrap: str, names: TopicNames, *, answer: bool = True) -> None:
        self.names = names
        self.answer = answer
        self.command_ids: Counter[str] = Counter()
        self.command_at: dict[str, float] = {}  # oli -> record time of its first SHIP command
        self.acks_sent = 0
        self._consumer = AIOKafkaConsumer(names.fulfillment_commands, bootstrap_servers=bootstrap,
                                          auto_offset_reset="earliest", isolation_level="read_committed",
                                          fetch_max_wait_ms=10, enable_auto_commit=False)
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2)
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def ship_commands(self) -> int:
        return sum(self.command_ids.values())

    async def start(self) -> None:
        await self._producer.start()
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        await self._consumer.stop()
        await self._producer.stop()

    async def _run(self) -> None:
        while not self._stop.is_set():
            batch = await self._consumer.getmany(timeout_ms=100, max_records=5000)
            for records in batch.values():
                for record in records:
                    command = orjson.loads(record.value)
                    if command["type"] != "SHIP":
                        continue
                    self.command_ids[command["command_id"]] += 1
                    self.command_at.setdefault(command["oli"], record.timestamp / 1000)
                    if self.answer:
                        for event in ACK_EVENTS:
                            await self._producer.send(self.names.wms_events, key=command["oli"].encode(),
                                                      value=wms_ack(command, event))
                            self.acks_sent += 1
