"""Faust wiring: the one place that adjusts Faust internals that have no setting.

Faust's aiokafka driver hard-codes ``fetch_max_wait_ms=1500`` for the worker consumer
(faust/transport/drivers/aiokafka.py). On a quiet topic a fetch then waits up to 1.5 s
before returning, which puts a floor under payment → command latency. We wrap the
factory and lower the wait to `ORDERHUB_CONSUMER_FETCH_WAIT_MS`.
"""

from __future__ import annotations

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
