"""Faust wiring: follow `<prefix>.control` and keep paused input topics paused on this worker, with the
unpaid lane held back while paid orders wait (agents/lanes.py)."""

from __future__ import annotations

import asyncio

from agents.lanes import paid_first
from agents.wiring import log
from app.main import app, settings
from app.pause_control import PauseController

controller = PauseController(settings)


@app.task
async def follow_control() -> None:
    while True:
        try:
            await controller.follow()
        except Exception as exc:  # noqa: BLE001 — keep following; the paused state is kept meanwhile
            log.warning("control.follow_failed", error=repr(exc))
            await asyncio.sleep(5)


@app.timer(interval=1.0, name="apply-pauses")
async def apply_pauses() -> None:
    if app.rebalancing:  # partitions are moving: Faust resumes them all afterwards, the next tick re-applies
        return
    consumer = app.consumer
    await controller.apply(consumer, held=paid_first.held(consumer, set(consumer.assignment())))
