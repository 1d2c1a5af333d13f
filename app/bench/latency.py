"""Payment → command latency at a fixed offered load, with the warehouse answering.

Orders and payments are sent on the demo's timeline at `rate` orders per second. An
order's latency runs from the moment the worker could decide (the later of its first
channel order and its payment being sent) to its SHIP command's record time.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from app.admin import all_topics, ensure_topics
from app.bench.pipeline import topic_of
from app.bench.probes import delete_topics_with_prefix, fast_producer, percentile
from app.bench.warehouse import Warehouse
from app.bench.workers import WorkerGroup
from app.demo_data import generate
from app.topic_names import TopicNames


@dataclass(frozen=True)
class LatencyRun:
    offered_rate: float  # orders per second
    achieved_rate: float  # orders per second actually sent
    orders: int
    paid: int  # orders that must get a SHIP command
    commanded: int  # of those, commanded before the phase's timeout (percentiles are over these)
    p50_ms: float
    p95_ms: float
    p99_ms: float

    def as_dict(self) -> dict[str, float]:
        return {"p50": round(self.p50_ms, 1), "p95": round(self.p95_ms, 1), "p99": round(self.p99_ms, 1)}


async def _offer(group: WorkerGroup, names: TopicNames, rate: float, seconds: float, seed: int,
                 timeout_s: float) -> LatencyRun:
    from tqdm import tqdm

    stories = generate(max(1, int(rate * seconds)), seed=seed)
    paid = {s.oli for s in stories if s.fate == "paid"}
    timeline = sorted(((i / rate + send.at, i, send) for i, story in enumerate(stories) for send in story.sends),
                      key=lambda item: (item[0], item[1]))
    warehouse = Warehouse(group.bootstrap, names)
    producer = fast_producer(group.bootstrap, linger_ms=1)
    await warehouse.start()
    await producer.start()
    decided: dict[str, float] = {}
    order_at: dict[str, float] = {}
    payment_at: dict[str, float] = {}
    try:
        await asyncio.to_thread(group.start)
        bar = tqdm(total=len(timeline), desc=f"latency @ {rate:,.0f} orders/s", unit="msg", file=sys.stderr,
                   mininterval=1.0, dynamic_ncols=True, leave=False)
        t0 = time.monotonic()
        for n, (at, i, send) in enumerate(timeline):
            delay = t0 + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await producer.send(topic_of(names, send.kind), key=send.key, value=send.value)
            now = time.time()
            oli = stories[i].oli
            (payment_at if send.kind == "payment" else order_at).setdefault(oli, now)
            if oli in payment_at and oli in order_at:
                decided.setdefault(oli, max(payment_at[oli], order_at[oli]))
            if n % 1000 == 0:
                bar.update(n - bar.n)
        sent_in = time.monotonic() - t0
        bar.close()
        await producer.flush()
        deadline = time.monotonic() + timeout_s
        while len(warehouse.command_at.keys() & paid) < len(paid) and time.monotonic() < deadline:
            group.check_alive()
            await asyncio.sleep(0.2)
    finally:
        await producer.stop()
        await warehouse.stop()
    latencies = [(warehouse.command_at[o] - decided[o]) * 1000 for o in paid
                 if o in warehouse.command_at and o in decided]
    return LatencyRun(offered_rate=rate, achieved_rate=len(stories) / sent_in if sent_in else 0.0,
                      orders=len(stories), paid=len(paid), commanded=len(latencies), p50_ms=percentile(latencies, 50),
                      p95_ms=percentile(latencies, 95), p99_ms=percentile(latencies, 99))


def run_latency(bootstrap: str, *, rate: float, seconds: float, seed: int, guarantee: str, partitions: int,
                workdir: Path, timeout_s: float) -> LatencyRun:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    names = TopicNames(prefix)
    asyncio.run(ensure_topics(bootstrap, all_topics(names), partitions=partitions))
    group = WorkerGroup(bootstrap, prefix, workdir, count=1, partitions=partitions, guarantee=guarantee)
    try:
        return asyncio.run(_offer(group, names, rate, seconds, seed, timeout_s))
    finally:
        group.stop()
        asyncio.run(delete_topics_with_prefix(bootstrap, prefix))
