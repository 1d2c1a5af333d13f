"""Faust wiring: release the parked envelopes of channels that are no longer paused (app/parking.py)."""

from __future__ import annotations

import asyncio

from agents.control import controller
from agents.wiring import log
from app.main import app, settings
from app.parking import ParkedReleaser

# not before the control topic is read (or given up on, as the ingest does): see ParkedReleaser.run
releaser = ParkedReleaser(settings, paused_channels=lambda: controller.paused_channels,
                          ready=controller.wait_caught_up)


@app.task
async def release_parked() -> None:
    while True:
        try:
            await releaser.run()
        except Exception as exc:  # noqa: BLE001 — parked envelopes wait in their topic; try again
            log.warning("parking.release_failed", error=repr(exc))
            await asyncio.sleep(5)
