"""Faust wiring: readiness. After each completed rebalance the worker touches `<datadir>/ready`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.wiring import log
from app.main import app


@app.on_rebalance_complete.connect
async def mark_ready(sender: Any, **kwargs: Any) -> None:
    path = Path(app.conf.datadir) / "ready"
    path.touch()
    log.info("worker.ready", assigned=len(app.assignor.assigned_actives()))
