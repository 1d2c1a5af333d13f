"""Faust wiring: `GET /api/dlq`, `GET /api/dlq/{id}`, `POST /api/dlq/replay` over app/dlq_tool.py.

Bad input answers 400 with ``{"error": "..."}``; a broker failure 502.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from faust import web

from app.dlq_tool import DlqTool, DlqToolError
from app.main import app, settings
from app.operations.dlq_ids import DlqId
from app.operations.errors import NotFoundError, OperationsError
from app.operations.since import parse_since
from app.web.responses import error, json_body

MAX_LIST = 10_000


async def _guarded(view: web.View, action: Any) -> web.Response:
    try:
        return view.json(await action())
    except NotFoundError as exc:
        return error(view, 404, str(exc))
    except OperationsError as exc:
        return error(view, 400, str(exc))
    except DlqToolError as exc:
        return error(view, 502, str(exc))


def _limit(raw: str | None) -> int:
    if raw is None:
        return 1000
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIST:
        raise OperationsError(f"limit must be an integer from 1 to {MAX_LIST}, not {raw!r}")
    return int(raw)


@app.page("/api/dlq")
class DlqList(web.View):
    """DLQ entries: ?topic=payments&since=2h&limit=1000 (newest `limit` entries, oldest first)."""

    async def get(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            query = request.query
            limit = _limit(query.get("limit"))
            since = parse_since(query["since"], datetime.now(UTC)) if query.get("since") else None
            records = await DlqTool(settings).entries(topic=query.get("topic") or None, since=since)
            return {"count": len(records), "entries": [r.summary() for r in records[-limit:]]}

        return await _guarded(self, action)


@app.page("/api/dlq/replay")
class DlqReplay(web.View):
    """Body: {"topic"?, "ids"?: [...], "since"?, "dry_run"?: false, "include_replayed"?: false}."""

    async def post(self, request: web.Request) -> web.Response:
        async def action() -> dict[str, Any]:
            body = await json_body(self, request)
            unknown = set(body) - {"topic", "ids", "since", "dry_run", "include_replayed"}
            if unknown:
                raise OperationsError(f"unknown field(s) {', '.join(sorted(unknown))}")
            ids = body.get("ids")
            if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
                raise OperationsError("ids must be a list of DLQ ids")
            for flag in ("dry_run", "include_replayed"):
                if not isinstance(body.get(flag, False), bool):
                    raise OperationsError(f"{flag} must be true or false")
            since = parse_since(str(body["since"]), datetime.now(UTC)) if body.get("since") else None
            tool = DlqTool(settings)
            records = await tool.entries(topic=body.get("topic"), since=since,
                                         ids=[DlqId.parse(i) for i in ids] if ids else None)
            report = await tool.replay(records, dry_run=body.get("dry_run", False),
                                       include_replayed=body.get("include_replayed", False))
            return report.as_dict()

        return await _guarded(self, action)


@app.page("/api/dlq/{dlq_id}")
class DlqShow(web.View):
    """One entry with its decoded value."""

    async def get(self, request: web.Request, dlq_id: str) -> web.Response:
        async def action() -> dict[str, Any]:
            return (await DlqTool(settings).show(DlqId.parse(dlq_id))).detail()

        return await _guarded(self, action)
