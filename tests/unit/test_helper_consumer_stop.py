"""Unit: a helper consumer whose stop() never returns does not hold up a worker's shutdown
(app/log_ends.py, `stop_helper`)."""

from __future__ import annotations

import asyncio

import pytest

from app import log_ends


class NeverStops:
    def __init__(self) -> None:
        self.stop_called = False

    async def stop(self) -> None:
        self.stop_called = True
        await asyncio.Event().wait()


class Stops:
    async def stop(self) -> None:
        await asyncio.sleep(0)


async def test_a_stop_that_never_returns_is_given_up_after_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_ends, "STOP_S", 0.05)
    consumer = NeverStops()
    assert await asyncio.wait_for(log_ends.stop_helper(consumer, "test"), 5) is False  # type: ignore[arg-type]
    assert consumer.stop_called


async def test_a_stop_that_returns_is_reported_as_done() -> None:
    assert await log_ends.stop_helper(Stops(), "test") is True  # type: ignore[arg-type]
