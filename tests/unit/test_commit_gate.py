"""Unit: the commit gate lets commits run only between events (pure asyncio, no broker)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from app.faust_tuning import CommitGate


@dataclass
class FakeMessage:
    tp: tuple[str, int]
    offset: int


@dataclass
class FakeEvent:
    message: FakeMessage
    acked: list[int] = field(default_factory=list)

    def ack(self) -> None:
        self.acked.append(self.message.offset)


async def test_commit_waits_for_the_event_in_flight_and_blocks_new_ones() -> None:
    gate = CommitGate()
    log: list[str] = []
    first_started = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with gate.processing(FakeEvent(FakeMessage(("t", 0), 5))):
            log.append("first:start")
            first_started.set()
            await release_first.wait()
            log.append("first:end")

    async def commit() -> None:
        async with gate.exclusive():
            log.append("commit")
            await asyncio.sleep(0.01)
            log.append("commit:end")

    async def second() -> None:
        async with gate.processing(FakeEvent(FakeMessage(("t", 0), 6))):
            log.append("second")

    t1 = asyncio.create_task(first())
    await first_started.wait()
    t2 = asyncio.create_task(commit())
    await asyncio.sleep(0)
    t3 = asyncio.create_task(second())  # arrives while the commit waits: must wait for it
    await asyncio.sleep(0.01)
    assert log == ["first:start"]
    release_first.set()
    await asyncio.gather(t1, t2, t3)
    assert log == ["first:start", "first:end", "commit", "commit:end", "second"]


async def test_a_failed_event_is_not_acked() -> None:
    gate = CommitGate()
    event = FakeEvent(FakeMessage(("t", 1), 7))
    try:
        async with gate.processing(event):
            raise RuntimeError("broker refused the output")
    except RuntimeError:
        pass
    assert event.acked == []
    async with gate.exclusive():  # and the gate is idle again
        pass


async def test_commit_waits_until_buffered_changelog_records_are_written() -> None:
    gate = CommitGate()
    record: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    gate.track(record)
    waiting = asyncio.create_task(gate.written())
    await asyncio.sleep(0.3)  # longer than Faust's own flush waits before giving up
    assert not waiting.done()
    record.set_result("written")
    await asyncio.wait_for(waiting, 1)


async def test_a_failed_changelog_record_fails_the_commit() -> None:
    gate = CommitGate()
    record: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    gate.track(record)
    record.set_exception(RuntimeError("fenced"))
    with pytest.raises(RuntimeError, match="fenced"):
        await gate.written()


async def test_a_crashed_worker_stops_waiting_for_records_that_will_never_be_written(monkeypatch: pytest.MonkeyPatch) -> None:
    from app import faust_tuning

    monkeypatch.setattr(faust_tuning, "CRASH_CHECK_S", 0.01)
    gate = CommitGate()
    gate.track(asyncio.get_running_loop().create_future())  # its producer buffer died: never resolved
    crashed = False
    waiting = asyncio.create_task(gate.written(lambda: crashed))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # a live worker keeps waiting
    crashed = True
    with pytest.raises(faust_tuning.WorkerCrashed):
        await asyncio.wait_for(waiting, 1)


async def test_a_crashed_worker_stops_waiting_for_an_event_that_never_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    from app import faust_tuning

    monkeypatch.setattr(faust_tuning, "CRASH_CHECK_S", 0.01)
    gate = CommitGate()
    stuck = asyncio.Event()

    async def never_ending() -> None:
        async with gate.processing(FakeEvent(FakeMessage(("t", 0), 1))):
            await stuck.wait()

    agent = asyncio.create_task(never_ending())
    await asyncio.sleep(0.01)
    crashed = False

    async def commit() -> None:
        async with gate.exclusive(lambda: crashed):
            pass

    committing = asyncio.create_task(commit())
    await asyncio.sleep(0.05)
    assert not committing.done()
    crashed = True
    with pytest.raises(faust_tuning.WorkerCrashed):
        await asyncio.wait_for(committing, 1)
    agent.cancel()


async def test_an_event_that_is_no_longer_current_is_neither_processed_nor_acked() -> None:
    gate = CommitGate()
    event = FakeEvent(FakeMessage(("t", 0), 7))
    generation = {"now": 1}

    async def commit() -> None:  # a rebalance's commit runs while the agent waits at the gate
        async with gate.exclusive():
            generation["now"] = 2
            await asyncio.sleep(0.01)

    committing = asyncio.create_task(commit())
    await asyncio.sleep(0)
    async with gate.processing(event, current=lambda e: generation["now"] == 1) as go:
        processed = go
    await committing
    assert processed is False and event.acked == []
    async with gate.exclusive():  # nothing counts as in flight
        pass
