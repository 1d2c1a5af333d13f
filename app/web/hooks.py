"""Faust wiring: the platforms' webhooks on the worker's web server (ORDERHUB_CONNECTOR_IN_WORKER=1).

``POST /hooks/{channel}/{shop}`` is answered by the receiver of the connectors that
agents/connectors.py starts in this worker (app/connectors/hooks.py); 503 until they run.
"""

from __future__ import annotations

from typing import Any

import faust

from app.main import app, settings

#: the running `ConnectorService` of this worker, set by agents/connectors.py
running: dict[str, Any] = {}

if settings.connector_in_worker:

    @app.page("/hooks/{channel}/{shop}")
    class Hooks(faust.web.View):
        async def post(self, request: Any, channel: str, shop: str) -> Any:
            service = running.get("service")
            if service is None or service.receiver is None:
                return self.json({"code": 503, "msg": "connectors are starting"}, status=503)
            return await service.receiver.handle(request)
