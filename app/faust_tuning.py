"""Faust wiring: the one place that adjusts Faust internals that have no setting.

1. The consumer's fetch wait (below). 2. `CommitGate`: exactly_once commits only between
events (further below).

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
    """Lets Kafka transactions commit only between events, never in the middle of one.

    Faust commits its transactions on a timer (faust/transport/consumer.py
    `TransactionManager.commit`) with the offsets of the events acked so far. An event
    whose outputs were already sent but which is not acked yet has its outputs committed
    without its offset: after a crash it is processed again and its outputs appear twice
    to read_committed consumers (faust-streaming#517). Agents hold the gate while they
    process an event and ack it before leaving; the commit waits until no event is in
    flight and holds new ones back while it runs (writer preference, so it cannot starve).
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
        finally:
            event.ack()
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

    original = getattr(TransactionManager, "_orderhub_original_commit", None) or TransactionManager.commit

    async def commit(self: Any, offsets: Any, start_new_transaction: bool = True) -> bool:
        async with gate.exclusive():
            return await original(self, offsets, start_new_transaction)

    TransactionManager._orderhub_original_commit = original  # type: ignore[attr-defined]
    TransactionManager.commit = commit  # type: ignore[method-assign]
