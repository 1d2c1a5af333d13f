"""Faust wiring: `GET /metrics`, this worker's Prometheus metrics (app/metrics.py) in text format."""

from __future__ import annotations

from faust import web

from app import metrics
from app.main import app


@app.page("/metrics")
class Metrics(web.View):
    async def get(self, request: web.Request) -> web.Response:
        # aiohttp refuses a charset in content_type=, so the header is set directly
        return self.bytes(metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE})
