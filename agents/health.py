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
    groups = {t: app.assignor.group_for_topic(t) for t in sorted(app.assignor._topic_groups)}
    log.info("worker.ready", assigned=len(app.assignor.assigned_actives()), topic_groups=groups)
