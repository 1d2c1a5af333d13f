"""Faust wiring: bulk jobs: `POST /api/bulk` sends one command per order; `GET /api/bulk/{id}`."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
from faust.web import View

from app import codec
from app.console import bulk
from app.console.queries import SearchFilter
from app.console.roles import Permission, Principal
from app.domain.commands import OpsCommand, parse_request
from app.domain.errors import ValidationError
from app.main import app
from app.topics import ops_commands_topic
from app.web.api import ApiError, api, gather, json_body, json_response
from app.web.orders import search_local
from tables.console import bulk_progress_table

#: jobs submitted through this worker: answer GET /api/bulk/{id} before the first command lands
_submitted: dict[str, dict[str, Any]] = {}


async def _resolve(request: Any, olis: list[str] | None, flt: dict[str, str] | None) -> list[str]:
    if olis is not None:
        return olis
    assert flt is not None
    search = SearchFilter.from_query(flt | {"limit": str(bulk.MAX_BULK)})

    async def local() -> dict[str, Any]:
        return search_local(search)

    answers, failed = await gather(request, local, path="/api/orders",
                                   query=flt | {"limit": str(bulk.MAX_BULK)})
    if failed:
        raise ApiError(503, f"workers did not answer the search: {', '.join(failed)}; nothing was sent")
    found = [o["oli"] for a in answers for o in a["orders"]]
    if not found:
        raise ApiError(404, "no order matches the filter; nothing was sent")
    return found[:bulk.MAX_BULK]


@app.page("/api/bulk")
class BulkView(View):
    @api(Permission.COMMAND)
    async def post(self, request: Any, principal: Principal) -> Any:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ValidationError("body: expected a JSON object")
        unknown = sorted(set(body) - {"command", "params", "reason", "olis", "filter"})
        if unknown:
            raise ValidationError(f"unknown field {unknown[0]!r}")
        olis, flt = bulk.targets(body)
        now = datetime.now(UTC)
        job_id = "job-" + uuid.uuid4().hex[:16]
        template = parse_request({k: body[k] for k in ("command", "params", "reason") if k in body},
                                 oli="-", request_id=job_id, actor=principal.name, role=principal.role.value,
                                 at=now)
        targets = await _resolve(request, olis, flt)
        _submitted[job_id] = {"job_size": len(targets), "command": template.action, "actor": principal.name}
        topic = ops_commands_topic.get_topic_name()
        sends = []
        for i, oli in enumerate(targets):
            command = _for_order(template, oli, f"{job_id}-{i:05d}", job_id, len(targets))
            sends.append(await app.producer.send(topic, oli.encode(), codec.encode(command), None, None, None))
        await asyncio.gather(*sends)
        return json_response(self, {"job_id": job_id, "total": len(targets), "command": template.action,
                                    "status": "accepted"}, 202)


def _for_order(template: OpsCommand, oli: str, request_id: str, job_id: str, size: int) -> OpsCommand:
    return replace(template, oli=oli, request_id=request_id, job_id=job_id, job_size=size)


def progress_local(job_id: str) -> dict[str, Any]:
    prefix = f"{job_id}/".encode()
    parts = [orjson.loads(v) for k, v in bulk_progress_table.items() if k.startswith(prefix)]
    return {"parts": parts}


@app.page("/api/bulk/{job_id}")
class BulkJobView(View):
    @api(Permission.READ)
    async def get(self, request: Any, principal: Principal, job_id: str) -> Any:
        async def local() -> dict[str, Any]:
            return progress_local(job_id)

        answers, failed = await gather(request, local)
        job = bulk.merge(job_id, [p for a in answers for p in a["parts"]])
        if job is None:
            meta = _submitted.get(job_id)
            if meta is None:
                raise ApiError(404, f"bulk job {job_id!r} not found")
            job = bulk.merge(job_id, [meta | dict.fromkeys(bulk.OUTCOMES, 0)])
        return json_response(self, (job or {}) | {"unreachable": failed})
