"""Unit: an event the agent did not process never counts as acknowledged (app/faust_tuning.py,
`CommitGate.counts`; docs/reliability.md, finding 15).

Faust's own stream (compiled and pure Python) hands events to a loop shaped like
`agents.wiring.consume`, over Faust's real consumer bookkeeping; no broker. A stream acks
every event it handed out once the loop asks for the next one, and acks an event it skips
itself (a stale generation); counted, the rebalance's last commit moved past such an event
although nothing had processed it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import faust
import faust.streams
import pytest
from faust.events import Event
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from app.faust_tuning import CommitGate, install_commit_gate

LANE = TP("orderhub.order-inputs", 3)
OTHER = TP("orderhub.other", 0)
COMMITTED = 40


@pytest.fixture(params=["compiled", "python"])
def stream_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    install_commit_gate(CommitGate())  # installs the gated iterator over the compiled one
    if request.param == "python":
        monkeypatch.setattr(faust.streams, "_CStreamIterator", None)
    else:
        assert faust.streams._CStreamIterator is not None, "Faust's compiled stream is not available"
    return str(request.param)


async def _run(offsets: list[int], *, current: Callable[[Any], bool], tp: TP = LANE,
               stale: frozenset[int] = frozenset(), guarantee: str = "exactly_once",
               ) -> tuple[Any, list[tuple[int, bool]], list[Any]]:
    """Hand events at `offsets` of `tp` through a stream to a gated loop; `stale` offsets carry
    an old generation (Faust's stream skips them itself). Returns the consumer, what the loop
    saw, and the messages."""
    app = faust.App(f"orderhub-skip-test-{id(current)}", broker="kafka://127.0.0.1:1",  # never connects
                    processing_guarantee=guarantee)
    app.in_worker = True
    app.topics.acks_enabled_for = lambda topic: True
    app.flow_control.resume()
    gate = CommitGate()
    install_commit_gate(gate)
    gate.guard([LANE.topic])
    consumer = app.consumer
    consumer._committed_offset[tp] = COMMITTED
    channel = app.channel()
    stream = app.stream(channel)
    messages = []
    for offset in offsets:
        generation = app.consumer_generation_id - 1 if offset in stale else app.consumer_generation_id
        message = ConsumerMessage(tp.topic, tp.partition, offset, 0.0, 0, {}, b"k", b"v", None, 1, 1, tp=tp,
                                  generation_id=generation)
        message.incref()  # as Faust's conductor does for the one channel it delivers to
        messages.append(message)
        consumer._unacked_messages.add(message)
        await channel.put(Event(app, b"k", b"v", {}, message))
    seen: list[tuple[int, bool]] = []

    async def loop() -> None:  # agents.wiring.consume, without the agent's work
        async for event in stream.events():
            async with gate.processing(event, current=current) as go:
                seen.append((event.message.offset, go))

    task = asyncio.ensure_future(loop())
    for _ in range(200):
        await asyncio.sleep(0.005)
        if all(m.acked for m in messages):
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await stream.stop()
    return consumer, seen, messages


async def test_events_skipped_at_a_rebalance_are_not_counted_and_nothing_is_committed(stream_kind: str) -> None:
    consumer, seen, messages = await _run([40, 41], current=lambda event: False)
    assert seen == [(40, False), (41, False)]
    assert list(consumer._acked[LANE]) == []  # before the fix: [40, 41], and the next commit was 42
    assert consumer._new_offset(LANE) is None
    assert not consumer._unacked_messages  # the rebalance's wait for events in flight ends
    assert all(m.acked for m in messages)  # and no later ack counts them


async def test_processed_events_count_and_the_commit_stops_at_the_first_skipped_one(stream_kind: str) -> None:
    consumer, seen, _ = await _run([40, 41, 42], current=lambda event: event.message.offset < 42)
    assert seen == [(40, True), (41, True), (42, False)]
    assert consumer._new_offset(LANE) == 42


async def test_an_event_faust_skips_as_stale_is_not_counted(stream_kind: str) -> None:
    consumer, seen, _ = await _run([40, 41], current=lambda event: True, stale=frozenset({40, 41}))
    assert seen == []  # Faust's stream skipped them before the loop saw them
    assert list(consumer._acked[LANE]) == []
    assert consumer._new_offset(LANE) is None


async def test_at_least_once_a_stale_event_is_not_counted_either(stream_kind: str) -> None:
    consumer, seen, _ = await _run([40, 41], current=lambda event: True, stale=frozenset({40, 41}),
                                   guarantee="at_least_once")
    assert seen == []
    assert list(consumer._acked[LANE]) == []
    assert consumer._new_offset(LANE) is None


async def test_acks_on_topics_no_gated_agent_reads_are_left_to_faust(stream_kind: str) -> None:
    consumer, _, _ = await _run([40], current=lambda event: False, tp=OTHER)
    assert list(consumer._acked[OTHER]) == [40]
