"""Faust wiring: the stuck-order watchdog's timer. Each worker scans the orders of its own partitions.

The timer decides nothing itself: for each order whose watchdog action is due
(`app.operations.stuck.scan`) it sends a `WatchdogTick` keyed by the OLI onto
`order-inputs`. `process-orders` applies the tick like any other input of that order
(`app.domain.watchdog.apply_tick`), so a re-send, a first command or a stuck alert goes
through the same path, transaction and state write as every command, never races with a
WMS acknowledgement being applied, and is decided by whichever worker owns the order when
the tick arrives. A tick that is no longer due (acknowledged meanwhile, or handled after a
rebalance) does nothing.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from itertools import islice

from agents.wiring import log, utcnow
from app import codec, metrics
from app.domain.watchdog import WatchdogPolicy, WatchdogTick
from app.main import app, settings
from app.operations.stuck import ScanResult, scan
from app.topics import paid_lane_topic
from tables.orders import orders_table

policy = WatchdogPolicy(stuck_after=timedelta(seconds=settings.stuck_after_s),
                        max_recommands=settings.stuck_max_recommands)
#: a tick is sent again for an order still due after this long (lost, or applied by an older owner)
RETICK_S = max(10.0, 3.0 * settings.watchdog_interval_s)
#: stored orders assessed between two yields to the event loop (a few ms of work)
CHUNK = 2000
#: ticks sent per pass at most, the longest overdue first; the rest wait for the next pass. After
#: a restore or an outage many orders can be due at once: the ticks must not flood order-inputs
#: (or the producer's memory) ahead of the inputs themselves
MAX_TICKS_PER_PASS = 500
#: OLI → (the due time it was for, when) of the last tick this worker sent for the order
_ticked: dict[str, tuple[datetime, float]] = {}


async def watch_orders() -> None:
    if app.rebalancing:  # partitions are moving: the next pass sees the settled assignment
        return
    started, now = time.monotonic(), utcnow()
    result, items = ScanResult(), iter(orders_table.items())  # only this worker's active partitions
    while chunk := list(islice(items, CHUNK)):
        scan(chunk, now, policy, into=result)
        await asyncio.sleep(0)  # let the agents and heartbeats run between chunks
    metrics.stuck_orders.set(result.alerted)
    due = [(oli, at) for oli, at in result.due
           if oli not in _ticked or _ticked[oli][0] != at or started - _ticked[oli][1] >= RETICK_S]
    for oli in set(_ticked) - {oli for oli, _ in result.due}:
        del _ticked[oli]
    deferred = max(0, len(due) - MAX_TICKS_PER_PASS)
    due = sorted(due, key=lambda item: item[1])[:MAX_TICKS_PER_PASS]
    topic = paid_lane_topic.get_topic_name()
    await asyncio.gather(*(app.producer.send_and_wait(
        topic, oli.encode(), codec.encode_watchdog_tick(WatchdogTick(oli=oli, at=now)), None, None, None)
        for oli, _ in due))
    for oli, at in due:
        _ticked[oli] = (at, started)
    if due or result.alerted:
        log.info("watchdog.pass", scanned=result.scanned, decoded=result.decoded, ticks=len(due), deferred=deferred,
                 overdue=result.overdue, stuck=result.alerted, ms=round((time.monotonic() - started) * 1000, 1))


if settings.watchdog_interval_s > 0:
    @app.timer(interval=float(settings.watchdog_interval_s), name="watch-stuck-orders")
    async def watch_stuck_orders() -> None:
        try:
            await watch_orders()
        except Exception as exc:  # noqa: BLE001 — a failed pass is logged; the next one starts over
            log.warning("watchdog.pass_failed", error=repr(exc), exc_info=True)
