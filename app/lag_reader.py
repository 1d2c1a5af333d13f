"""Offset snapshots from the cluster: committed offsets of consumer groups and log end offsets.

What `kafka-consumer-groups.sh --describe` reads, for `orderhub lag` and the workers' lag
monitor. Only partitions a group has committed at least once are known (the group's
assignment is not decoded: Faust uses its own assignor protocol).

Transaction markers: under exactly_once each committed transaction leaves a control
record at the end of the partitions it wrote. A consumer that has read everything still
commits the offset *before* the trailing markers, so the raw lag of an idle partition is
1 or more (one marker per transactional producer that wrote to it last).
For partitions with a small raw lag the reader checks whether any readable record lies
between the committed offset and the end; if none does, the lag is 0.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from app.admin import client_security, topic_partitions
from app.brokers import _quiet_aiokafka
from app.log_ends import LogEnds, park, stop_helper
from app.operations.lag import PartitionKey, PartitionOffsets, Snapshot
from app.settings import Settings

#: raw lags up to this are checked for being transaction markers only. Several
#: transactional producers write to one partition (one per source partition), so an idle
#: partition can end in several markers, one per producer that committed last.
MARKER_SLACK = 50
#: how long one such check may take (a busy worker's fetch can be slow)
MARKER_CHECK_S = 5.0


class LagReaderError(Exception):
    """The cluster could not be read; one line for the user."""


class LagReader:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        client = {"bootstrap_servers": settings.bootstrap_servers, "request_timeout_ms": 15000,
                  **client_security(settings)}
        self._admin = AIOKafkaAdminClient(**client)  # type: ignore[arg-type]
        self._consumer = AIOKafkaConsumer(**client, enable_auto_commit=False, isolation_level="read_committed",
                                          fetch_max_wait_ms=100, max_partition_fetch_bytes=64 * 1024)
        self._ends = LogEnds(self._consumer)
        self._started = False
        #: False once the broker failed to answer "all partitions of a group" (the embedded
        #: broker mis-encodes that OffsetFetch answer); then every topic is asked explicitly
        self._group_wide_fetch = True
        #: (committed, end, markers only?) of partitions checked before: unchanged ones are not re-read
        self._marker_verdicts: dict[PartitionKey, tuple[int, int, bool]] = {}

    async def start(self) -> None:
        try:
            await self._admin.start()
            await self._consumer.start()
        except KafkaError as exc:
            await self.stop()
            raise LagReaderError(f"broker {self.settings.bootstrap_servers}: {exc}") from None
        self._started = True

    async def stop(self) -> None:
        await stop_helper(self._consumer, "lag-reader")
        await self._admin.close()
        self._started = False

    async def __aenter__(self) -> LagReader:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def groups(self) -> list[str]:
        return sorted(str(g[0]) for g in await self._admin.list_consumer_groups())

    async def snapshot(self, groups: Iterable[str]) -> Snapshot:
        try:
            return await self._snapshot(groups)
        except KafkaError as exc:
            raise LagReaderError(f"broker {self.settings.bootstrap_servers}: {exc}") from None

    async def _snapshot(self, groups: Iterable[str]) -> Snapshot:
        committed: dict[PartitionKey, int | None] = {}
        for group in groups:
            for tp, meta in (await self._committed(group)).items():
                if meta.offset >= 0:
                    committed[(group, tp.topic, tp.partition)] = meta.offset
        tps = sorted({TopicPartition(t, p) for _, t, p in committed})
        at = time.monotonic()
        ends = await self._ends(tps) if tps else {}
        starts = await self._consumer.beginning_offsets(tps) if tps else {}
        offsets = {key: PartitionOffsets(c, ends[TopicPartition(key[1], key[2])],
                                         starts[TopicPartition(key[1], key[2])])
                   for key, c in committed.items()}
        await self._discount_markers(offsets)
        return Snapshot(at, offsets)

    async def log_ends(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        """Log end offsets as the records say (app/log_ends.py)."""
        return await self._ends(tps)

    async def _committed(self, group: str) -> dict[TopicPartition, Any]:
        if self._group_wide_fetch:
            try:
                with _quiet_aiokafka():
                    return await self._admin.list_consumer_group_offsets(group)
            except (KafkaError, ValueError):
                self._group_wide_fetch = False
        topics = sorted(t for t in await self._consumer.topics() if not t.startswith("__"))
        tps = await topic_partitions(self._consumer, topics)
        return await self._admin.list_consumer_group_offsets(group, partitions=tps) if tps else {}

    async def _discount_markers(self, offsets: dict[PartitionKey, PartitionOffsets]) -> None:
        """Set lag 0 where only transaction markers lie between the committed offset and the end."""
        for key, o in offsets.items():
            if o.committed is None or not 0 < o.lag <= MARKER_SLACK:
                continue
            cached = self._marker_verdicts.get(key)
            if cached is not None and cached[:2] == (o.committed, o.end):
                markers_only = cached[2]
            else:
                markers_only = await self._only_markers(TopicPartition(key[1], key[2]), o.committed, o.end)
                if markers_only is not None:
                    self._marker_verdicts[key] = (o.committed, o.end, markers_only)
            if markers_only:
                offsets[key] = PartitionOffsets(o.committed, o.end, o.start, markers_only=True)

    async def _only_markers(self, tp: TopicPartition, committed: int, end: int) -> bool | None:
        return await only_markers(self._consumer, tp, committed, end)


async def only_markers(consumer: AIOKafkaConsumer, tp: TopicPartition, committed: int, end: int,
                       timeout_s: float = MARKER_CHECK_S) -> bool | None:
    """True if no readable record lies in [committed, end) for a read_committed `consumer`;
    None if that could not be told in time. The partition is left assigned and paused (see
    `app.log_ends.park`)."""
    consumer.assign([tp])
    try:
        consumer.seek(tp, committed)
        return await asyncio.wait_for(_read_past(consumer, tp, end), timeout_s)
    except TimeoutError:
        return None  # keep the raw lag: a real stuck message must not be hidden
    finally:
        park(consumer)


async def _read_past(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> bool:
    # bounded by the caller: aiokafka's `position` waits for as long as the position is unknown
    while True:
        batch = await consumer.getmany(tp, timeout_ms=200, max_records=1)
        if batch.get(tp):
            return False
        if await consumer.position(tp) >= end:
            return True
