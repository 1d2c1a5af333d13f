"""Faust wiring: alerts → webhook (when ORDERHUB_ALERT_WEBHOOK_URL is set).

Alerts are keyed by kind, so all alerts of one kind reach the same worker and its
de-duplication sees them all; the rate limit applies per worker.
"""

from __future__ import annotations

from typing import Any

import orjson

from agents.wiring import consume, log
from app.alert_forwarder import AlertForwarder
from app.main import app, settings
from app.topics import alerts_topic

forwarder = AlertForwarder(settings) if settings.alert_webhook_url else None


async def forward(event: Any) -> None:
    if forwarder is None:
        return
    try:
        alert = orjson.loads(event.value)
    except orjson.JSONDecodeError:
        log.warning("alert.unreadable", offset=event.message.offset)
        return
    if isinstance(alert, dict):
        forwarder.submit(alert)


@app.agent(alerts_topic, name="forward-alerts")
async def forward_alerts(stream):  # type: ignore[no-untyped-def]
    await consume(stream, forward)


@app.on_before_shutdown.connect
async def stop_forwarder(sender: Any, **kwargs: Any) -> None:
    if forwarder is not None:
        await forwarder.stop()
