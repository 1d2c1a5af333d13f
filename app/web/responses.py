"""Shared view helpers: JSON error bodies and reading a JSON request body."""

from __future__ import annotations

from typing import Any

import orjson
from faust import web

from app.operations.errors import OperationsError


def error(view: web.View, status: int, message: str) -> web.Response:
    return view.json({"error": message}, status=status)


async def json_body(view: web.View, request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is `{}`. Anything else is a 400."""
    raw = await view.read_request_content(request)
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise OperationsError("request body is not JSON") from None
    if not isinstance(body, dict):
        raise OperationsError("request body must be a JSON object")
    return body
