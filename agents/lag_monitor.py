"""Faust wiring: sample consumer lag every ORDERHUB_LAG_INTERVAL_S; the leader publishes lag alerts."""

from __future__ import annotations

from typing import Any

from agents.control import controller
from agents.wiring import log
from app import metrics
from app.lag_monitor import LagMonitor
from app.main import app, settings, topic_names
from app.parking import release_group

monitor = LagMonitor(settings, paused_topics=lambda: controller.paused_topics,
                     paused_elsewhere=lambda: {(release_group(settings), topic_names.parked(channel))
                                               for channel in controller.paused_channels})


@app.timer(interval=float(settings.lag_interval_s), name="sample-lag")
async def sample_lag() -> None:
    try:
        await monitor.sample(leader=app.is_leader())
    except Exception as exc:  # noqa: BLE001 — a failed sample is counted and logged; the next one retries
        metrics.lag_samples_failed.inc()
        log.warning("lag.sample_failed", error=repr(exc))


@app.on_before_shutdown.connect
async def stop_lag_monitor(sender: Any, **kwargs: Any) -> None:
    await monitor.stop()
