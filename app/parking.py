"""Parking of a paused channel's envelopes, and their release after `orderhub resume --channel`.

A channel's orders share the channel-orders partitions with every other channel, so a
paused channel cannot be a paused partition. Instead the ingest agent *parks* each
envelope of a paused channel: it copies it, with its key, to
`<prefix>.channel-orders.parked.<channel>` as an output of the envelope's event (under
exactly_once in the same transaction as the envelope's offset: parked and consumed
together, or neither), and goes on with the next envelope.

Every worker runs a `ParkedReleaser`: a plain consumer in the group `<app id>-unpark`
over every parking topic. It keeps the partitions of paused channels paused; from the
others it copies each parked envelope back to channel-orders, and commits the parking
offsets once the copies are written. That is at-least-once — a crash in between releases
an envelope twice — which is safe because an envelope is idempotent: a repeated or older
platform payload changes nothing and emits nothing. A released envelope also reaches
channel-orders *after* envelopes that arrived directly since the resume; the same
newer-wins rule makes an older one a no-op.

The releaser commits the start of each parking partition it is given, so the backlog of a
paused channel is the lag of `<app id>-unpark` on its parking topic (`orderhub lag`,
`orderhub_consumer_lag`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata

from app.admin import client_security
from app.log_ends import stop_helper
from app.logs import get_logger
from app.settings import Settings
from app.topic_names import TopicNames

log = get_logger("orderhub.parking")

RELEASED_HEADER = "orderhub-unparked"


def release_group(settings: Settings) -> str:
    return f"{settings.app_id}-unpark"


class _CommitStartOnAssign(ConsumerRebalanceListener):  # type: ignore[misc]
    """A parking partition the group never committed gets its start committed, so its lag is visible."""

    def __init__(self, releaser: ParkedReleaser) -> None:
        self.releaser = releaser

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        consumer = self.releaser.consumer
        if consumer is None or not assigned:
            return
        try:
            fresh = [tp for tp in assigned if await consumer.committed(tp) is None]
            if fresh:
                starts = await consumer.beginning_offsets(fresh)
                await consumer.commit({tp: OffsetAndMetadata(starts[tp], "") for tp in fresh})
        except KafkaError as exc:  # only the lag report misses them until the first release
            log.warning("parking.start_commit_failed", error=repr(exc))


class ParkedReleaser:
    def __init__(self, settings: Settings, paused_channels: Callable[[], frozenset[str]],
                 ready: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.settings = settings
        self.names = TopicNames(settings.topic_prefix)
        self._paused_channels = paused_channels
        self._ready = ready
        self.consumer: AIOKafkaConsumer | None = None
        self.released = 0

    async def run(self) -> None:
        """Release parked envelopes of channels that are not paused, until cancelled.

        Starts only once `ready` returns: the paused channels must be known first. A worker
        that started while a channel was paused, and released before it had read the control
        topic, sent that channel's parked envelopes back to channel-orders, where its ingest
        (which does wait) parked them a second time."""
        if self._ready is not None:
            await self._ready()
        security = client_security(self.settings)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers, group_id=release_group(self.settings),
            enable_auto_commit=False, auto_offset_reset="earliest", isolation_level="read_committed",
            metadata_max_age_ms=3000,  # a channel paused for the first time is a new topic: find it soon
            fetch_max_wait_ms=200, **security)
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.bootstrap_servers, acks="all",
                                    linger_ms=5, **security)
        await consumer.start()
        await producer.start()
        self.consumer = consumer
        try:
            pattern = "^" + re.escape(self.names.parked("")) + ".+$"
            consumer.subscribe(pattern=pattern, listener=_CommitStartOnAssign(self))
            while True:
                await self._release_batch(consumer, producer)
        finally:
            self.consumer = None
            await stop_helper(consumer, "parking")
            await producer.stop()

    def _held(self, tp: TopicPartition) -> bool:
        return self.names.channel_of_parked(tp.topic) in self._paused_channels()

    async def _release_batch(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer) -> None:
        assigned = consumer.assignment()
        held = {tp for tp in assigned if self._held(tp)}
        if held:
            consumer.pause(*held)
        resumed = (consumer.paused() - held) & assigned
        if resumed:
            consumer.resume(*resumed)
        batch = await consumer.getmany(timeout_ms=500, max_records=1000)
        sent: list[asyncio.Future[Any]] = []
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, records in batch.items():
            if self._held(tp):  # fetched just before the channel was paused again: read them later
                consumer.seek(tp, records[0].offset)
                continue
            for record in records:
                headers = [*(record.headers or ()), (RELEASED_HEADER, b"1")]
                sent.append(await producer.send(self.names.channel_orders, key=record.key, value=record.value,
                                                headers=headers))
            offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "")
        if not sent:
            return
        await asyncio.gather(*sent)  # every copy written before the parking offsets move
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:  # rebalanced meanwhile: released again later, harmless
            log.warning("parking.commit_failed", error=repr(exc))
        self.released += len(sent)
        log.info("parking.released", envelopes=len(sent),
                 channels=sorted({str(self.names.channel_of_parked(tp.topic)) for tp in offsets}))
