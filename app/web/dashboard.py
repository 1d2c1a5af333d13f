"""Faust wiring: the dashboard page (`GET /`), its static files and `GET /api/me`.

The page is static HTML + plain JavaScript (no build step) with uPlot vendored from npm
(`app/web/static/uPlot.*`, MIT); it asks for a token and then reads the JSON API.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from faust.web import View

from app.console.roles import Permission, Principal
from app.main import app
from app.web.api import api, json_response

STATIC = resources.files("app.web") / "static"
CONTENT_TYPES = {".html": "text/html", ".js": "application/javascript", ".css": "text/css"}


def _asset(name: str) -> tuple[bytes, str] | None:
    suffix = name[name.rfind("."):] if "." in name else ""
    if "/" in name or name.startswith(".") or suffix not in CONTENT_TYPES:
        return None
    path = STATIC / name
    if not path.is_file():
        return None
    return path.read_bytes(), CONTENT_TYPES[suffix]


@app.page("/")
class DashboardView(View):
    async def get(self, request: Any) -> Any:
        body, content_type = _asset("dashboard.html") or (b"", "text/html")
        return self.bytes(body, content_type=content_type)


@app.page("/static/{name}")
class StaticView(View):
    async def get(self, request: Any, name: str) -> Any:
        found = _asset(name)
        if found is None:
            return self.bytes(b'{"error": "not found", "status": 404}', content_type="application/json", status=404)
        return self.bytes(found[0], content_type=found[1], headers={"Cache-Control": "max-age=300"})


@app.page("/api/openapi.yaml")
class OpenApiView(View):
    async def get(self, request: Any) -> Any:
        body = (resources.files("app.web") / "openapi.yaml").read_bytes()
        return self.bytes(body, content_type="application/yaml")


@app.page("/api/me")
class MeView(View):
    @api(Permission.READ)
    async def get(self, request: Any, principal: Principal) -> Any:
        return json_response(self, {"name": principal.name, "role": principal.role.value,
                                    "permissions": sorted(p.value for p in Permission if principal.can(p))})
