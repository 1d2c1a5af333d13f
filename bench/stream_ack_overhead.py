"""Per-event cost of counting only the agents' own acks (finding 15 in docs/reliability.md).

Events go through Faust's compiled stream iterator to a loop shaped like
`agents.wiring.consume` (the commit gate, no work), with Faust's own iterator (`faust`) and
with the gated one `install_commit_gate` puts in its place (`gated`), alternately. No
broker. Prints, per iterator, the median CPU microseconds per event of the runs and the
ratio gated / faust.

Run: .venv/bin/python bench/stream_ack_overhead.py [--events 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import faust
import faust.streams
from faust.events import Event
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from app.faust_tuning import CommitGate, install_commit_gate

LANE = TP("bench.order-inputs", 0)


async def _cpu_us_per_event(iterator: Any, events: int) -> float:
    faust.streams._CStreamIterator = iterator
    app = faust.App(f"bench-acks-{time.monotonic_ns()}", broker="kafka://127.0.0.1:1",  # never connects
                    processing_guarantee="exactly_once", stream_buffer_maxsize=events + 10)
    app.in_worker = True
    app.topics.acks_enabled_for = lambda topic: True
    app.flow_control.resume()
    gate = CommitGate()
    install_commit_gate(gate)
    gate.guard([LANE.topic])
    channel = app.channel(maxsize=events + 10)
    stream = app.stream(channel)
    for offset in range(events):
        message = ConsumerMessage(LANE.topic, LANE.partition, offset, 0.0, 0, {}, b"k", b"v", None, 1, 1,
                                  tp=LANE, generation_id=app.consumer_generation_id)
        message.incref()
        await channel.put(Event(app, b"k", b"v", {}, message))
    seen = 0
    started = time.process_time()
    async for event in stream.events():
        async with gate.processing(event) as go:
            assert go
        seen += 1
        if seen == events:
            break
    return (time.process_time() - started) / events * 1e6


async def main(events: int, runs: int) -> None:
    faust_iterator = faust.streams._CStreamIterator
    if faust_iterator is None:
        raise SystemExit("bench: error: Faust's compiled stream iterator is not available")
    install_commit_gate(CommitGate())
    gated_iterator = faust.streams._CStreamIterator
    figures: dict[str, list[float]] = {"faust": [], "gated": []}
    for _ in range(runs):
        figures["faust"].append(await _cpu_us_per_event(faust_iterator, events))
        figures["gated"].append(await _cpu_us_per_event(gated_iterator, events))
    faust.streams._CStreamIterator = gated_iterator
    for name, values in figures.items():
        print(f"{name}: {statistics.median(values):.1f} µs CPU per event (runs: "
              f"{', '.join(f'{v:.1f}' for v in values)})")
    print(f"gated / faust: {statistics.median(figures['gated']) / statistics.median(figures['faust']):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000, help="events per run (default 20000)")
    parser.add_argument("--runs", type=int, default=5, help="runs per iterator (default 5)")
    args = parser.parse_args()
    if args.events < 1 or args.runs < 1:
        parser.error("--events and --runs must be at least 1")
    asyncio.run(main(args.events, args.runs))
