"""Faust wiring: with ORDERHUB_CONNECTOR_IN_WORKER=1 the worker also runs the connectors.

The connectors of ORDERHUB_CONNECTOR_SHOPS pull in a task of this worker and their
webhooks are answered on the worker's own web server (app/web/hooks.py). Run it in one
worker only: every worker with the setting pulls every shop (the dedup of each process
is its own). `orderhub connect` is the same service in its own process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.wiring import log
from app.main import app, settings
from app.web.hooks import running

if settings.connector_in_worker:

    @app.task
    async def run_connectors() -> None:
        from app.connectors.command import connector_options, load_shops
        from app.connectors.service import ConnectorService

        service = ConnectorService(load_shops(Path(settings.connector_shops), settings),
                                   connector_options(settings, web_port=None))
        await service.start()
        running["service"] = service
        log.info("connector.in_worker", shops=len(service.shops))

    @app.on_before_shutdown.connect
    async def stop_connectors(sender: Any, **kwargs: Any) -> None:
        service = running.pop("service", None)
        if service is not None:
            await service.stop()
