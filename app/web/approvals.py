"""Faust wiring: the approval queue and approve / reject."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from faust.web import View

from app import codec
from app.console.roles import Permission, Principal
from app.domain import approvals as ap
from app.domain.commands import OpsCommand
from app.domain.errors import ValidationError
from app.main import app
from app.web.api import (
    ApiError,
    api,
    gather,
    get_json,
    json_body,
    json_response,
    order_path,
    owner_url,
    shown,
    state_and_limit,
)
from app.web.orders import new_request_id, send_command
from tables.console import approvals_table
from tables.orders import orders_table

STATES = ("pending", "approved", "rejected", "all")


def approvals_local(state: str, limit: int) -> dict[str, Any]:
    found = []
    for _key, value in approvals_table.items():
        for approval in codec.decode_approvals(value):
            if state == "all" or approval.state.value == state:
                found.append(orjson.loads(codec.encode(approval)))
        if len(found) >= limit:
            break
    return {"approvals": found}


@app.page("/api/approvals")
class ApprovalsView(View):
    @api(Permission.READ)
    async def get(self, request: Any, principal: Principal) -> Any:
        state, limit = state_and_limit(request.query, STATES, "pending")

        async def local() -> dict[str, Any]:
            return approvals_local(state, limit)

        answers, failed = await gather(request, local)
        found = sorted((a for ans in answers for a in ans["approvals"]), key=lambda a: a["requested_at"])
        return json_response(self, shown(principal, {"approvals": found[:limit], "unreachable": failed}))


async def _approval(request: Any, approval_id: str) -> ap.Approval | None:
    oli = ap.oli_of_approval(approval_id)
    url = owner_url(orders_table.name, oli)  # co-partitioned with approvals; its changelog is always written
    if url is None:
        return ap.find(codec.decode_approvals(approvals_table.get(oli.encode())), approval_id)
    status, body = await get_json(url.with_path(order_path(oli), encoded=True), request)
    if status == 404:
        return None
    if status != 200:
        raise ApiError(503, f"the owner of {oli} answered {status}")
    return next((ap.Approval.from_dict(a) for a in body["approvals"] if a["approval_id"] == approval_id), None)


@app.page("/api/approvals/{approval_id}/{decision}")
class DecideView(View):
    @api(Permission.APPROVE)
    async def post(self, request: Any, principal: Principal, approval_id: str, decision: str) -> Any:
        if decision not in ("approve", "reject"):
            raise ApiError(404, f"no such action {decision!r}: approve or reject")
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("reason"), str) or not body["reason"].strip():
            raise ValidationError("field 'reason' is required (a non-empty string)")
        unknown = sorted(set(body) - {"reason"})
        if unknown:
            raise ValidationError(f"unknown field {unknown[0]!r}")
        approval = await _approval(request, approval_id)
        if approval is None:
            raise ApiError(404, f"approval {approval_id!r} not found")
        ap.check_decider(approval, principal.name, approval_id)
        command = OpsCommand(request_id=new_request_id(), oli=approval.oli, action=decision,
                             actor=principal.name, role=principal.role.value, at=datetime.now(UTC),
                             reason=body["reason"].strip()[:500], approval_id=approval_id)
        await send_command(command)
        return json_response(self, {"request_id": command.request_id, "approval_id": approval_id,
                                    "decision": decision, "status": "accepted"}, 202)
