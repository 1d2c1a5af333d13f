"""Faust wiring: the one place that adjusts Faust internals that have no setting.

1. The consumer's fetch wait. 2. `CommitGate`: exactly_once commits only between events,
with the table changelog in the same transaction. 3. Offset-gap accounting that could
commit past a message not yet processed. 4. `DeliveryGuard`: at least once, no offset
commit after an output that failed to be delivered.

Faust's aiokafka driver hard-codes ``fetch_max_wait_ms=1500`` for the worker consumer
(faust/transport/drivers/aiokafka.py). On a quiet topic a fetch then waits up to 1.5 s
before returning, which puts a floor under payment → command latency. We wrap the
factory and lower the wait to `ORDERHUB_CONSUMER_FETCH_WAIT_MS`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

_PATCHED = "_orderhub_fetch_wait_patched"


def set_consumer_fetch_wait(ms: int) -> None:
    cls = faust_aiokafka.AIOKafkaConsumerThread
    original = getattr(cls, _PATCHED, None) or cls._create_worker_consumer

    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = ms
        return consumer

    setattr(cls, _PATCHED, original)
    cls._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]


class CommitGate:
    """Exactly-once commits that line up with events, whatever Faust's offset bookkeeping says.

    Three Faust behaviours break exactly_once as shipped (faust/transport/consumer.py):
    - commits run on a timer with the offsets acked so far, so an event whose outputs were
      sent but which was not acked yet has its outputs committed without its offset; after
      a crash it is processed again and read_committed consumers see it twice
      (faust-streaming#517);
    - table changelog records wait in a buffer (`Topic.send_soon`) and can join the *next*
      transaction, so a crash can keep an event's command but lose the state change;
    So agents hold the gate while they process an event and ack it before leaving; the
    commit waits until no event is in flight, holds new ones back (writer preference, so
    it cannot starve) and drains the changelog buffer before committing.
    """

    def __init__(self) -> None:
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._open = asyncio.Event()
        self._open.set()

    @contextlib.asynccontextmanager
    async def processing(self, event: Any) -> AsyncIterator[None]:
        await self._open.wait()
        self._active += 1
        self._idle.clear()
        try:
            yield
            event.ack()
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        self._open.clear()
        try:
            await self._idle.wait()
            yield
        finally:
            self._open.set()


def install_commit_gate(gate: CommitGate) -> None:
    from faust.transport.consumer import TransactionManager

    if getattr(TransactionManager, "_orderhub_gated", False):
        return
    original_commit = TransactionManager.commit

    async def commit(self: Any, offsets: Any, start_new_transaction: bool = True) -> bool:
        async with gate.exclusive():
            await self.app.producer.buffer.flush()
            try:
                return await original_commit(self, offsets, start_new_transaction)
            except Exception as exc:
                # The transaction's outcome is unknown; continuing would commit later
                # offsets over lost outputs. Stop: a restart rebuilds state from Kafka.
                await self.app.crash(exc)
                raise

    TransactionManager.commit = commit  # type: ignore[method-assign]
    TransactionManager._orderhub_gated = True  # type: ignore[attr-defined]


def fix_gap_accounting() -> None:
    """Stop Faust from counting the next unprocessed message as part of an offset gap.

    When the consumer sees offsets jump (transaction markers under exactly_once, or
    compaction), Faust records the gap as already acked so commits can pass it. Its call
    site passes the offset of the message just fetched as the gap's inclusive end
    (faust/transport/consumer.py, `_add_gap(tp, r_offset + 1, offset)`), so that message
    counts as acked before it is processed; a commit then can move past it and a crash
    loses it. We end the gap one offset earlier.
    """
    from faust.transport.consumer import Consumer

    if getattr(Consumer, "_orderhub_gap_fixed", False):
        return
    original = Consumer._add_gap

    async def _add_gap(self: Any, tp: Any, offset_from: int, offset_to: int) -> None:
        await original(self, tp, offset_from, offset_to - 1)

    Consumer._add_gap = _add_gap  # type: ignore[method-assign]
    Consumer._orderhub_gap_fixed = True  # type: ignore[attr-defined]


def seek_before_resume() -> None:
    """Seek stream partitions to their committed offsets *before* they are resumed.

    After a rebalance, Faust's recovery resumes the stream partitions and only then seeks
    them to their committed offsets (faust/tables/recovery.py, `on_recovery_completed` and
    `_resume_streams`). Records fetched in between are processed while the seek runs; the
    seek then resets Faust's read offsets underneath them, and the next record looks like
    an offset gap, which Faust counts as acknowledged. Messages in that "gap" that were
    fetched but dropped (the stream skips events of a paused flow) are then committed
    without ever being processed: lost input after a kill -9 and restart. Seeking while the
    partitions are still paused leaves nothing in flight.
    """
    from faust.tables.recovery import Recovery

    if getattr(Recovery, "_orderhub_seek_first", False):
        return

    def wrap(original: Any) -> Any:
        async def seek_first(self: Any, generation_id: int = 0) -> None:
            consumer = self.app.consumer
            resume = consumer.resume_partitions
            perform_seek = consumer.perform_seek
            deferred: list[set[Any]] = []

            async def seek_then_resume() -> None:
                await perform_seek()
                while deferred:
                    resume(deferred.pop())

            consumer.resume_partitions = deferred.append
            consumer.perform_seek = seek_then_resume
            try:
                await original(self, generation_id)
            finally:
                del consumer.resume_partitions
                del consumer.perform_seek
                while deferred:  # a path that resumed without seeking
                    resume(deferred.pop())

        return seek_first

    Recovery.on_recovery_completed = wrap(Recovery.on_recovery_completed)  # type: ignore[method-assign]
    Recovery._resume_streams = wrap(Recovery._resume_streams)  # type: ignore[method-assign]
    Recovery._orderhub_seek_first = True  # type: ignore[attr-defined]


class DeliveryGuard:
    """Remembers the first output the producer failed to deliver; commits refuse to run after it.

    At least once, agents hand outputs to the producer without waiting for each
    acknowledgement; Faust flushes the producer before it commits offsets, but a flush
    returns whether the batches succeeded or failed. aiokafka resolves a batch's message
    futures in the same step as the batch future the flush waits on, so their callbacks
    run before the flush returns: the commit sees the failure and stops the worker
    instead of committing past the lost output.
    """

    def __init__(self) -> None:
        self.error: BaseException | None = None

    def watch(self, delivery: asyncio.Future[Any]) -> None:
        delivery.add_done_callback(self._on_done)

    def _on_done(self, delivery: asyncio.Future[Any]) -> None:
        if self.error is None and not delivery.cancelled() and delivery.exception() is not None:
            self.error = delivery.exception()


class OutputNotDeliveredError(RuntimeError):
    """An output could not be written to Kafka; the worker stops rather than commit past it."""


def install_delivery_guard(guard: DeliveryGuard) -> None:
    from faust.transport.consumer import ThreadDelegateConsumer

    if getattr(ThreadDelegateConsumer, "_orderhub_delivery_guarded", False):
        return
    original = ThreadDelegateConsumer._commit

    async def _commit(self: Any, offsets: Any) -> bool:
        if guard.error is not None:
            exc = OutputNotDeliveredError(f"an output was not delivered: {guard.error!r}")
            await self.app.crash(exc)
            raise exc
        return await original(self, offsets)

    ThreadDelegateConsumer._commit = _commit  # type: ignore[method-assign]
    ThreadDelegateConsumer._orderhub_delivery_guarded = True  # type: ignore[attr-defined]
