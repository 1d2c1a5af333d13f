"""Faust wiring: with ORDERHUB_CONNECTOR_IN_WORKER=1 the worker also runs the connectors.

The connectors of ORDERHUB_CONNECTOR_SHOPS pull in a task of this worker and their
webhooks are answered on the worker's own web server (``POST /hooks/{channel}/{shop}``).
Run it in one worker only: every worker with the setting pulls every shop (the dedup of
each process is its own). `orderhub connect` is the same service in its own process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust

from agents.wiring import log
from app.main import app, settings

_service: Any = None

if settings.connector_in_worker:

    @app.task
    async def run_connectors() -> None:
        global _service
        from app.connectors.command import connector_options, load_shops
        from app.connectors.service import ConnectorService

        service = ConnectorService(load_shops(Path(settings.connector_shops), settings),
                                   connector_options(settings, web_port=None))
        await service.start()
        _service = service
        log.info("connector.in_worker", shops=len(service.shops))

    @app.on_before_shutdown.connect
    async def stop_connectors(sender: Any, **kwargs: Any) -> None:
        if _service is not None:
            await _service.stop()

    @app.page("/hooks/{channel}/{shop}")
    class Hooks(faust.web.View):
        async def post(self, request: Any, channel: str, shop: str) -> Any:
            if _service is None or _service.receiver is None:
                return self.json({"code": 503, "msg": "connectors are starting"}, status=503)
            return await _service.receiver.handle(request)
