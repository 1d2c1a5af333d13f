"""Faust wiring: follow `<prefix>.control` and keep paused input topics paused on this worker."""

from __future__ import annotations

from app.main import app, settings
from app.pause_control import PauseController

controller = PauseController(settings)


@app.task
async def follow_control() -> None:
    await controller.follow()


@app.timer(interval=1.0, name="apply-pauses")
async def apply_pauses() -> None:
    controller.apply(app.consumer)
