"""Pipeline throughput: preload a workload, let orderhub workers drain it, time their outputs.

Each run gets its own topic prefix (topics, consumer group, changelogs), so every run
starts from the same empty state. Throughput is the workload's input events over the
span of the workers' output record times: from the first record they produced to the
last (outputs, order events, changelog writes), so start-up and polling are not counted.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from app.admin import all_topics, ensure_topics
from app.bench.errors import BenchError
from app.bench.probes import (
    GroupProgress,
    delete_topics_with_prefix,
    produce_all,
    record_time_span,
    topics_with_prefix,
)
from app.bench.warehouse import Warehouse
from app.bench.workers import WorkerGroup
from app.bench.workload import Workload
from app.topic_names import TopicNames

IDLE_SAMPLE_S = 3.0


@dataclass(frozen=True)
class PipelineRun:
    guarantee: str
    workers: int
    events: int
    seconds: float
    peak_rss_bytes: int
    state_bytes: int
    ship_commands: int
    distinct_ship_commands: int
    cpu_seconds: float  # the workers' CPU time while they drained the workload
    idle_cpu_share: float  # CPU-seconds per second the workers use with nothing to do
    drain_seconds: float  # wall time from ready to drained (start-up excluded)

    @property
    def eps(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_eps(self) -> float:
        """Events per CPU-second: what one core would move, however busy the machine was."""
        return self.events / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    @property
    def busy_cpu_us_per_event(self) -> float:
        """Worker CPU per event without the idle polling it would have spent anyway in that time
        (an estimate: on a starved machine idle polling stretches with the wall time)."""
        busy = max(0.0, self.cpu_seconds - self.idle_cpu_share * self.drain_seconds)
        return busy / self.events * 1e6 if self.events else 0.0


def topic_of(names: TopicNames, kind: str) -> str:
    return {"channel_order": names.channel_orders, "payment": names.payments,
            "wms_event": names.wms_events}[kind]


async def preload(bootstrap: str, names: TopicNames, messages: list[tuple[str, bytes, bytes]],
                  partitions: int) -> None:
    await ensure_topics(bootstrap, all_topics(names), partitions=partitions)
    await produce_all(bootstrap, ((topic_of(names, kind), key, value) for kind, key, value in messages))


async def _drain(group: WorkerGroup, names: TopicNames, workload: Workload, label: str,
                 timeout_s: float) -> Warehouse:
    from tqdm import tqdm

    warehouse = Warehouse(group.bootstrap, names)
    await warehouse.start()
    try:
        await asyncio.to_thread(group.start)
        cpu_at_start, started = group.cpu_seconds(), time.monotonic()
        external = (names.channel_orders, names.payments, names.wms_events)
        topics = (*external, names.order_inputs)
        bar = tqdm(total=workload.events, desc=label, unit="ev", file=sys.stderr, mininterval=1.0,
                   dynamic_ncols=True, leave=False)
        deadline = time.monotonic() + timeout_s
        async with GroupProgress(group.bootstrap, group.prefix, topics, group.partitions) as progress:
            while True:
                group.check_alive()
                committed, ends = await progress.committed_and_end()
                done_external = sum(committed[tp] for tp in committed if tp.topic in external)
                bar.update(min(workload.events, done_external) - bar.n)
                if (len(warehouse.command_at) >= len(workload.paid) and warehouse.acks_sent >= workload.acks
                        and await progress.drained(committed, ends)):
                    break
                if time.monotonic() > deadline:
                    lag = {t: sum(ends[tp] - committed[tp] for tp in committed if tp.topic == t) for t in topics}
                    raise BenchError(f"{label}: not drained after {timeout_s:.0f} s: SHIP commands for "
                                     f"{len(warehouse.command_at)} of {len(workload.paid)} paid orders, "
                                     f"uncommitted {lag}; worker log {group.log_path}")
                await asyncio.sleep(0.5)
        bar.close()
        group.peak_rss = group.peak_rss_bytes()
        cpu_at_end, ended = group.cpu_seconds(), time.monotonic()
        group.cpu_used = cpu_at_end - cpu_at_start
        # an idle worker still polls the broker (fetch wait, timers): measure that rate to set it apart
        await asyncio.sleep(IDLE_SAMPLE_S)
        group.idle_cpu_share = (group.cpu_seconds() - cpu_at_end) / (time.monotonic() - ended)
        group.busy_s = ended - started
    finally:
        await warehouse.stop()
    return warehouse


def run_pipeline(bootstrap: str, workload: Workload, *, guarantee: str, workers: int, partitions: int,
                 workdir: Path, timeout_s: float, label: str, profile: Path | None = None) -> PipelineRun:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    names = TopicNames(prefix)
    asyncio.run(preload(bootstrap, names, workload.messages, partitions))
    group = WorkerGroup(bootstrap, prefix, workdir, count=workers, partitions=partitions, guarantee=guarantee,
                        profile=profile)
    try:
        warehouse = asyncio.run(_drain(group, names, workload, label, timeout_s))
    finally:
        group.stop()
    try:
        changelogs = [t for t in asyncio.run(topics_with_prefix(bootstrap, prefix)) if t.endswith("-changelog")]
        outputs = [names.order_inputs, names.order_events, names.fulfillment_commands, *changelogs]
        span = asyncio.run(record_time_span(bootstrap, outputs, partitions))
    finally:
        asyncio.run(delete_topics_with_prefix(bootstrap, prefix))
    seconds = span[1] - span[0] if span else 0.0
    return PipelineRun(guarantee=guarantee, workers=workers, events=workload.events, seconds=seconds,
                       peak_rss_bytes=group.peak_rss, state_bytes=group.state_bytes(),
                       ship_commands=warehouse.ship_commands, distinct_ship_commands=len(warehouse.command_ids),
                       cpu_seconds=group.cpu_used, idle_cpu_share=group.idle_cpu_share,
                       drain_seconds=group.busy_s)
