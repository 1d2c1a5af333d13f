"""Pure: merge candidates (合单): paid orders that can ship as one parcel.

Policy as the leading Chinese ERPs apply it: orders of the same shop and buyer, and
optionally the same receiver, warehouse and carrier, paid within `window` of each
other and not yet commanded to the warehouse, are proposed as one shipment. Presale
orders merge only when allowed; cash-on-delivery orders and held orders never merge.

The candidate key deliberately ignores the OLI: orders of one buyer live on different
partitions, so the grouping runs where the key lives (see docs/operations.md#merge-candidates).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain.errors import ValidationError
from app.domain.model import FulfillmentState, Order, OrderStatus

COD_TAGS = frozenset({"cod", "cash_on_delivery", "货到付款"})
PRESALE_TAGS = frozenset({"presale", "step_paid", "预售"})


MERGE_WAIT = "merge_wait"  # hold: a mergeable order waits for its group's decision (detail = merge key)
MERGED_INTO = "merged_into"  # hold: the order ships in another order's parcel (detail = that OLI)
UNMERGING = "unmerging"  # hold: the merged SHIP is being cancelled; the merge ends when it is intercepted
MERGE_TAG = "merge"  # tag of the rule action `merge`: the group merges without an operator


@dataclass(frozen=True, slots=True)
class MergePolicy:
    """Policy file (`ORDERHUB_MERGE_POLICY_FILE`, YAML or JSON)::

        wait_minutes: 30        # 0 (default) = merging off: no order waits
        window_hours: 24        # payments of one group at most this far apart
        same_receiver: true     # also the same receiver name and phone
        same_warehouse: false   # also the warehouse and carrier routing chose
        same_carrier: false
        allow_presale: false
        auto_accept: false      # merge every group at the end of its wait, no operator needed
    """

    window: timedelta = timedelta(hours=24)
    same_receiver: bool = True
    same_warehouse: bool = False
    same_carrier: bool = False
    allow_presale: bool = False
    #: how long a mergeable order waits for its group's decision; 0 = merging off
    wait: timedelta = timedelta(0)
    auto_accept: bool = False

    @property
    def enabled(self) -> bool:
        return self.wait > timedelta(0)

    @classmethod
    def from_dict(cls, data: Any) -> MergePolicy:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValidationError("merge policy: expected a mapping")
        flags = ("same_receiver", "same_warehouse", "same_carrier", "allow_presale", "auto_accept")
        unknown = sorted(set(data) - {"wait_minutes", "window_hours", *flags})
        if unknown:
            raise ValidationError(f"merge policy: unknown field {unknown[0]!r}")
        numbers = {}
        for name, default in (("wait_minutes", 0), ("window_hours", 24)):
            value = data.get(name, default)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValidationError(f"merge policy: {name} must be a non-negative number")
            numbers[name] = value
        for name in flags:
            if not isinstance(data.get(name, False), bool):
                raise ValidationError(f"merge policy: {name} must be true or false")
        return cls(window=timedelta(hours=numbers["window_hours"]), wait=timedelta(minutes=numbers["wait_minutes"]),
                   **{name: data[name] for name in flags if name in data})


def normalised_address(order: Order) -> str:
    a = order.receiver.address
    text = "|".join((a.province, a.city, a.district, a.town, a.detail))
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def merge_key(order: Order, policy: MergePolicy, *, warehouse: str = "", carrier: str = "") -> str:
    """Orders with the same key may ship together (window and eligibility aside).
    `warehouse` / `carrier`: what routing chose, when the order has not been commanded yet."""
    parts = [order.channel, order.shop_id, order.buyer.id or order.buyer.nick, normalised_address(order)]
    if policy.same_receiver:
        parts += [order.receiver.name, order.receiver.phone]
    if policy.same_warehouse:
        parts.append(warehouse or order.fulfillment.warehouse)
    if policy.same_carrier:
        parts.append(carrier or order.fulfillment.carrier)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def ineligible(order: Order, policy: MergePolicy) -> str:
    """Why the order cannot merge, or "" when it can."""
    tags = {t.lower() for t in order.tags}
    if order.status is not OrderStatus.PAID or order.paid_at is None:
        return "not paid"
    if order.fulfillment.state is not FulfillmentState.NONE:
        return "already commanded"
    if order.holds:
        return "held"
    if order.shadow:
        return "shadow mode"
    if tags & COD_TAGS:
        return "cash on delivery"
    if tags & PRESALE_TAGS and not policy.allow_presale:
        return "presale"
    if not (order.buyer.id or order.buyer.nick):
        return "no buyer"
    return ""


def candidates(orders: list[Order], policy: MergePolicy, now: datetime) -> list[list[str]]:
    """Groups of two or more OLIs that may ship as one, oldest payment first."""
    groups: dict[str, list[Order]] = {}
    for order in orders:
        if not ineligible(order, policy):
            groups.setdefault(merge_key(order, policy), []).append(order)
    out = []
    for members in groups.values():
        members.sort(key=lambda o: (o.paid_at, o.oli))
        recent = [o for o in members if o.paid_at and now - o.paid_at <= policy.window]
        if len(recent) >= 2:
            out.append([o.oli for o in recent])
    return sorted(out)
