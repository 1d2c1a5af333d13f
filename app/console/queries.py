"""Pure: what the read views ask of an order: search filters, stuck orders, history entries.

Search scans the orders a worker holds, so it is linear in that worker's orders; every
worker scans at most `MAX_SCAN` and stops at `limit` hits (see docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain.errors import ValidationError
from app.domain.model import FulfillmentState, Order, OrderStatus
from app.domain.watchdog import WatchdogPolicy, assess

DEFAULT_LIMIT = 50
MAX_LIMIT = 10_000
#: orders one worker looks at for one search, at most
MAX_SCAN = 200_000
#: entries kept per order in the history table (oldest dropped first)
HISTORY_KEEP = 200


@dataclass(frozen=True, slots=True)
class SearchFilter:
    status: str = ""
    channel: str = ""
    hold: str = ""  # a hold reason, or "any"
    q: str = ""
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_query(cls, query: dict[str, str]) -> SearchFilter:
        unknown = sorted(set(query) - {"status", "channel", "hold", "q", "limit", "local"})
        if unknown:
            raise ValidationError(f"unknown query parameter {unknown[0]!r}")
        status = query.get("status", "")
        if status and status not in OrderStatus.__members__:
            raise ValidationError(f"query parameter 'status' must be one of {', '.join(OrderStatus)}")
        raw_limit = query.get("limit", str(DEFAULT_LIMIT))
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ValidationError(f"query parameter 'limit' must be an integer from 1 to {MAX_LIMIT}")
        return cls(status=status, channel=query.get("channel", ""), hold=query.get("hold", ""),
                   q=query.get("q", "").strip().lower(), limit=int(raw_limit))

    def matches(self, order: Order) -> bool:
        if self.status and order.status.value != self.status:
            return False
        if self.channel and order.channel != self.channel:
            return False
        if self.hold and not any(self.hold in ("any", h.reason) for h in order.holds):
            return False
        if self.q:
            r = order.receiver
            haystack = " ".join((order.oli, order.external_id, order.buyer.nick, order.buyer.id,
                                 r.name, r.phone, r.address.city, r.address.detail)).lower()
            return self.q in haystack
        return True


def summary(order: Order) -> dict[str, Any]:
    """One search hit: enough for a list row."""
    return {"oli": order.oli, "version": order.version, "channel": order.channel, "shop_id": order.shop_id,
            "external_id": order.external_id, "status": order.status.value,
            "holds": [h.reason for h in order.holds], "fulfillment": order.fulfillment.state.value,
            "total": order.amounts.total, "currency": order.amounts.currency,
            "updated_at": order.updated_at.isoformat(),
            "receiver": {"name": order.receiver.name, "phone": order.receiver.phone,
                         "address": {"province": order.receiver.address.province,
                                     "city": order.receiver.address.city,
                                     "detail": order.receiver.address.detail}}}


def stuck_reason(order: Order, now: datetime, after: timedelta) -> str:
    """Why a paid order has not reached the warehouse after `after`, or "" if it is fine.

    Unheld orders follow the watchdog's notion (app/domain/watchdog.py): the SLA runs from
    the SHIP command's first send. A held order waits for an operator: listed once it has
    been paid for `after`.
    """
    if order.status is not OrderStatus.PAID:
        return ""
    if order.holds:
        if order.paid_at is None or now - order.paid_at < after:
            return ""
        return "held: " + ", ".join(h.reason for h in order.holds)
    verdict = assess(order, now, WatchdogPolicy(stuck_after=after))
    if verdict.alerted:
        return "raised as stuck: not acknowledged by the warehouse"
    if not verdict.overdue:
        return ""
    if order.fulfillment.state is FulfillmentState.REQUESTED:
        return "not acknowledged by the warehouse"
    return "no fulfillment command"


def watchdog_ledger(order: Order) -> dict[str, Any]:
    """The watchdog's bookkeeping of the order's SHIP command, for the stuck list."""
    f = order.fulfillment
    sent = f.state is not FulfillmentState.NONE and bool(f.command_id)
    return {"command_id": f.command_id, "attempts": f.recommands + 1 if sent else 0,
            "recommands": f.recommands, "requested_at": _iso(f.requested_at),
            "next_check_at": _iso(f.next_check_at), "alerted": f.stuck_alerted_at is not None,
            "alerted_at": _iso(f.stuck_alerted_at)}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def event_entry(event: dict[str, Any]) -> dict[str, Any]:
    """An `order-events` message as a history entry (without the full order)."""
    order = event.get("order") or {}
    return {"kind": "event", "at": event.get("at"), "type": event.get("type"), "version": event.get("version"),
            "cause": event.get("cause") or {}, "status": order.get("status"),
            "holds": [h.get("reason") for h in order.get("holds") or []],
            "fulfillment": (order.get("fulfillment") or {}).get("state"),
            "command_id": (order.get("fulfillment") or {}).get("command_id")}


def audit_history_entry(entry: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "audit", **{k: v for k, v in entry.items() if k != "schema_version"}}


def append_history(history: list[dict[str, Any]], entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Append in arrival order, drop duplicates (redelivery) and keep the last HISTORY_KEEP."""
    if entry in history[-20:]:
        return history
    return (history + [entry])[-HISTORY_KEEP:]
