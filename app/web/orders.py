"""Faust wiring: order views: one order, its history and audit, search, stuck orders, commands."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from faust.web import View

from app import codec
from app.console.queries import MAX_SCAN, SearchFilter, stuck_reason, summary, watchdog_ledger
from app.console.roles import Permission, Principal
from app.domain.commands import OpsCommand, check_against, parse_request
from app.domain.errors import ValidationError
from app.domain.model import Order
from app.main import app, settings
from app.topics import ops_commands_topic
from app.web.api import (
    ApiError,
    api,
    gather,
    get_json,
    json_body,
    json_response,
    on_owner,
    order_path,
    owner_url,
    shown,
)
from tables.console import approvals_table, history_table
from tables.orders import orders_table


def new_request_id() -> str:
    return "req-" + uuid.uuid4().hex[:16]


def _order_view(order: Order) -> dict[str, Any]:
    approvals = [orjson.loads(codec.encode(a)) for a in codec.decode_approvals(
        approvals_table.get(order.oli.encode()))]
    now = datetime.now(UTC)
    return {"order": orjson.loads(codec.encode(order)), "approvals": approvals,
            "stuck": stuck_reason(order, now, timedelta(seconds=settings.stuck_after_s))}


def local_order(oli: str) -> Order | None:
    return codec.decode_order(orders_table.get(oli.encode()))


async def fetch_order(request: Any, oli: str) -> Order:
    """The stored order, from whichever worker owns it; 404 when there is none."""
    url = owner_url(orders_table.name, oli)
    if url is None:
        order = local_order(oli)
    else:
        status, body = await get_json(url.with_path(order_path(oli), encoded=True), request)
        if status not in (200, 404):
            raise ApiError(503, f"the owner of {oli} answered {status}")
        order = Order.from_dict(body["order"]) if status == 200 else None
    if order is None:
        raise ApiError(404, f"order {oli!r} not found")
    return order


async def send_command(command: OpsCommand) -> None:
    # not inside a stream event: a plain (non-transactional) send; the agent applies it
    await app.producer.send_and_wait(ops_commands_topic.get_topic_name(), command.oli.encode(),
                                     codec.encode(command), None, None, None)


@app.page("/api/orders/{oli}")
class OrderView(View):
    @api(Permission.READ)
    async def get(self, request: Any, principal: Principal, oli: str) -> Any:
        async def local() -> Any:
            order = local_order(oli)
            if order is None:
                return json_response(self, {"error": f"order {oli!r} not found", "status": 404}, 404)
            return json_response(self, shown(principal, _order_view(order)))

        return await on_owner(self, request, orders_table.name, oli, local)


@app.page("/api/orders/{oli}/history")
class OrderHistoryView(View):
    @api(Permission.READ)
    async def get(self, request: Any, principal: Principal, oli: str) -> Any:
        async def local() -> Any:
            entries = orjson.loads(history_table.get(oli.encode()) or b"[]")
            if not entries and local_order(oli) is None:
                return json_response(self, {"error": f"order {oli!r} not found", "status": 404}, 404)
            return json_response(self, shown(principal, {"oli": oli, "entries": entries}))

        return await on_owner(self, request, orders_table.name, oli, local)  # co-partitioned


@app.page("/api/audit")
class AuditView(View):
    @api(Permission.READ)
    async def get(self, request: Any, principal: Principal) -> Any:
        oli = request.query.get("oli", "")
        if not oli:
            raise ValidationError("query parameter 'oli' is required (audit entries are kept per order; "
                                  "the full trail is the audit topic)")

        async def local() -> Any:
            entries = [e for e in orjson.loads(history_table.get(oli.encode()) or b"[]") if e["kind"] == "audit"]
            return json_response(self, shown(principal, {"oli": oli, "entries": entries}))

        return await on_owner(self, request, orders_table.name, oli, local)  # co-partitioned


def search_local(flt: SearchFilter) -> dict[str, Any]:
    hits, scanned = [], 0
    for _key, value in orders_table.items():
        scanned += 1
        order = codec.decode_order(value)
        if order is not None and flt.matches(order):
            hits.append(summary(order))
            if len(hits) >= flt.limit:
                break
        if scanned >= MAX_SCAN:
            break
    return {"orders": hits, "scanned": scanned, "complete": len(hits) < flt.limit and scanned < MAX_SCAN}


@app.page("/api/orders")
class SearchView(View):
    @api(Permission.READ)
    async def get(self, request: Any, principal: Principal) -> Any:
        flt = SearchFilter.from_query(dict(request.query))

        async def local() -> dict[str, Any]:
            return search_local(flt)

        answers, failed = await gather(request, local)
        orders = sorted((o for a in answers for o in a["orders"]), key=lambda o: o["updated_at"], reverse=True)
        return json_response(self, shown(principal, {
            "orders": orders[:flt.limit], "scanned": sum(a["scanned"] for a in answers),
            "complete": all(a["complete"] for a in answers) and not failed, "unreachable": failed}))


def stuck_local(limit: int) -> dict[str, Any]:
    now, after = datetime.now(UTC), timedelta(seconds=settings.stuck_after_s)
    hits, scanned = [], 0
    for _key, value in orders_table.items():
        scanned += 1
        order = codec.decode_order(value)
        reason = stuck_reason(order, now, after) if order is not None else ""
        if order is not None and reason:
            hits.append(summary(order) | watchdog_ledger(order) | {
                "reason": reason, "paid_at": order.paid_at.isoformat() if order.paid_at else None})
            if len(hits) >= limit:
                break
        if scanned >= MAX_SCAN:
            break
    return {"orders": hits, "scanned": scanned}


@app.page("/api/stuck")
class StuckView(View):
    @api(Permission.READ)
    async def get(self, request: Any, principal: Principal) -> Any:
        flt = SearchFilter.from_query({k: v for k, v in request.query.items() if k in ("limit", "local")})

        async def local() -> dict[str, Any]:
            return stuck_local(flt.limit)

        answers, failed = await gather(request, local)
        orders = sorted((o for a in answers for o in a["orders"]), key=lambda o: o["paid_at"] or "")
        return json_response(self, shown(principal, {
            "orders": orders[:flt.limit], "scanned": sum(a["scanned"] for a in answers),
            "stuck_after_s": settings.stuck_after_s, "max_recommands": settings.stuck_max_recommands,
            "unreachable": failed}))


@app.page("/api/orders/{oli}/commands")
class CommandView(View):
    @api(Permission.COMMAND)
    async def post(self, request: Any, principal: Principal, oli: str) -> Any:
        command = parse_request(await json_body(request), oli=oli, request_id=new_request_id(),
                                actor=principal.name, role=principal.role.value, at=datetime.now(UTC))
        check_against(await fetch_order(request, oli), command)
        await send_command(command)
        return json_response(self, {"request_id": command.request_id, "oli": oli, "command": command.action,
                                    "status": "accepted"}, 202)
