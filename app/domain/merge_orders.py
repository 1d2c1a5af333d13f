"""Pure: the merge flow as seen by one order: waiting for its group, the merge commands, notices.

- `MergeWaitRouter` wraps the routing: an order that could merge (`merge.ineligible`)
  gets a `merge_wait` hold (detail: its merge key) instead of a SHIP, once: when the wait
  ends (`end_merge`) it is remembered in `Order.released` and the order ships.
- `apply_merge_command` applies what the merge-group agent sends (`MERGE_ACTIONS`).
- `notices` says what the group must hear after an order changed: records for the
  `merge-candidates` topic, keyed by merge key (see app/domain/merge_groups.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from app.domain import operations, transitions
from app.domain.audit import AuditEntry, changed_fields
from app.domain.commands import OpsCommand
from app.domain.errors import OrderhubError, ValidationError
from app.domain.merge import (
    MERGE_TAG,
    MERGE_WAIT,
    MERGED_INTO,
    UNMERGING,
    MergePolicy,
    ineligible,
    merge_key,
)
from app.domain.model import (
    STATUS_RANK,
    FulfillmentState,
    Hold,
    HoldSource,
    MergedPart,
    Order,
    OrderStatus,
)

Notice = tuple[str, dict[str, Any]]


@dataclass(slots=True)
class MergeWaitRouter:
    """A `transitions.Router` that holds mergeable orders back for their group's decision."""

    inner: transitions.Router
    policy: MergePolicy

    def decide(self, order: Order) -> transitions.RoutingOutcome:
        outcome = self.inner.decide(order)
        if (not self.policy.enabled or outcome.holds or order.merged or MERGE_WAIT in order.released
                or order.holds):
            return outcome
        routed = replace(order, tags=order.tags + tuple(t for t in outcome.tags if t not in order.tags))
        if outcome.address is not None:
            routed = replace(routed, receiver=replace(routed.receiver, address=outcome.address))
        if ineligible(routed, self.policy):
            return outcome
        key = merge_key(routed, self.policy, warehouse=outcome.warehouse, carrier=outcome.carrier)
        return replace(outcome, holds=(Hold(MERGE_WAIT, key, HoldSource.SYSTEM),))


def _hold(order: Order | None, reason: str) -> Hold | None:
    return next((h for h in order.holds if h.reason == reason), None) if order else None


def waiting_key(order: Order | None) -> str:
    """The merge key of an order waiting for its group, or "". An order with any other hold
    is not waiting: held orders never merge."""
    if order is None or order.status is not OrderStatus.PAID or not order.holds:
        return ""
    first = order.holds[0]
    return first.detail if all(h.reason == MERGE_WAIT for h in order.holds) else ""


def _without(order: Order, *reasons: str) -> Order:
    return replace(order, holds=tuple(h for h in order.holds if h.reason not in reasons))


def _check(order: Order, command: OpsCommand) -> None:
    action, p = command.action, command.params
    if action in ("merge_into", "merge"):
        if waiting_key(order) != p.get("merge_key"):
            raise ValidationError(f"order {order.oli} is no longer waiting to merge")
    elif action == "unmerge":
        if not order.merged:
            raise ValidationError(f"order {order.oli} is not a merge's primary order")
        if order.fulfillment.state is FulfillmentState.SHIPPED or _hold(order, UNMERGING):
            raise ValidationError(f"order {order.oli}: the merge can no longer be undone (shipped or undoing)")
    elif action == "end_merge":
        if not (_hold(order, MERGE_WAIT) or _hold(order, MERGED_INTO)):
            raise ValidationError(f"order {order.oli} is not waiting or merged")
    elif action == "merged_shipped" and not _hold(order, MERGED_INTO):
        raise ValidationError(f"order {order.oli} is not merged into another order")


def _view(order: Order) -> dict[str, Any]:
    return {"holds": [h.reason for h in order.holds], "merged": [m.oli for m in order.merged],
            "status": order.status.value, "fulfillment": order.fulfillment.state.value}


def apply_merge_command(order: Order, command: OpsCommand, now: datetime,
                        routing: transitions.Router) -> operations.OpsDecision:
    try:
        _check(order, command)
    except OrderhubError as exc:
        return operations.refused(command, order, exc)
    p = command.params
    change = transitions._Change(order=order, now=now, cause={"source": "merge", "ref": command.request_id},
                                 routing=routing)
    released = tuple(dict.fromkeys(order.released + (MERGE_WAIT,)))
    if command.action == "merge_into":
        rest = _without(order, MERGE_WAIT)
        change.accept(replace(rest, merge_key=p["merge_key"], holds=rest.holds + (
            Hold(MERGED_INTO, p["into"], HoldSource.OPERATOR),)), "OrderMergedInto")
    elif command.action == "merge":
        parts = tuple(MergedPart.from_dict(x) for x in p["parts"])
        change.accept(replace(_without(order, MERGE_WAIT), merged=parts, merge_key=p["merge_key"],
                              released=released), "OrdersMerged")
        transitions.route(change)
    elif command.action == "unmerge":
        if order.fulfillment.state in transitions.SHIP_IN_FLIGHT:
            # the merged SHIP is cancelled first; INTERCEPTED ends the merge (transitions.apply_wms_event)
            change.accept(replace(order, holds=order.holds + (Hold(UNMERGING, command.request_id,
                                                                   HoldSource.OPERATOR),)), "MergeUndoRequested")
            operations.cancel_shipment(change, order)
        else:
            change.accept(replace(order, merged=()), "MergeUndone")
            transitions.route(change)
    elif command.action == "end_merge":
        change.accept(replace(_without(order, MERGE_WAIT, MERGED_INTO), released=released), "MergeWaitEnded")
        transitions.route(change)
    else:  # merged_shipped: the primary's parcel left with this order in it
        status = order.status
        if STATUS_RANK[status] < STATUS_RANK[OrderStatus.SHIPPED]:
            status = OrderStatus.SHIPPED
        change.accept(replace(_without(order, MERGED_INTO), status=status, fulfillment=replace(
            order.fulfillment, state=FulfillmentState.SHIPPED, command_id=p["command_id"],
            tracking_no=p.get("tracking_no", ""), carrier=p.get("carrier", ""), shipped_at=now)),
            "OrderShipped")
    before, after = changed_fields(_view(order), _view(change.order))
    entry = AuditEntry(at=now, actor=command.actor, role=command.role, action="command_applied", oli=order.oli,
                       command=command.action, before=before, after=after | _params_shown(command),
                       reason=command.reason, request_id=command.request_id, version=change.order.version)
    return operations.OpsDecision(change.decision(), audit=(entry,))


def _params_shown(command: OpsCommand) -> dict[str, Any]:
    p = command.params
    if command.action == "merge_into":
        return {"into": p["into"]}
    if command.action == "merge":
        return {"merged": [x["oli"] for x in p["parts"]]}
    return {}


def member_record(order: Order, now: datetime) -> dict[str, Any]:
    return {"oli": order.oli, "external_id": order.external_id,
            "paid_at": order.paid_at.isoformat() if order.paid_at else now.isoformat(),
            "lines": [asdict(line) for line in order.lines], "auto": MERGE_TAG in order.tags,
            "since": now.isoformat()}


def _in_merge(order: Order | None) -> bool:
    """Waiting, merged into another or a primary: every merge state shows in one of these."""
    return order is not None and bool(order.holds or order.merged or order.merge_key)


def notices(before: Order | None, after: Order | None, now: datetime) -> list[Notice]:
    """What the merge group of `after` must hear about this change (nothing for most changes)."""
    if after is None or not (_in_merge(after) or _in_merge(before)):
        return []  # the common case, on every order event: nothing to do with merging
    out: list[Notice] = []
    was, now_key = waiting_key(before), waiting_key(after)
    if now_key and now_key != was:
        out.append((now_key, {"type": "waiting", "member": member_record(after, now)}))
    if was and was != now_key:
        if _hold(after, MERGED_INTO):
            out.append((was, {"type": "joined", "oli": after.oli}))
        elif after.merged:
            out.append((was, {"type": "merged", "oli": after.oli}))
        else:
            out.append((was, {"type": "gone", "oli": after.oli}))
    key = after.merge_key
    if before is not None and before.merged and not after.merged:
        out.append((key, {"type": "unmerged", "oli": after.oli}))
    if _hold(before, UNMERGING) and not _hold(after, UNMERGING) and after.merged:
        out.append((key, {"type": "unmerge_failed", "oli": after.oli}))
    shipped = FulfillmentState.SHIPPED
    if after.merged and after.fulfillment.state is shipped and (before is None or
                                                                 before.fulfillment.state is not shipped):
        f = after.fulfillment
        out.append((key, {"type": "shipped", "oli": after.oli, "command_id": f.command_id,
                          "tracking_no": f.tracking_no, "carrier": f.carrier}))
    return out


def refusal_notice(command: OpsCommand) -> list[Notice]:
    """A merge command the order refused: the group must know, or it waits for an answer forever."""
    if command.action not in ("merge_into", "merge"):
        return []
    return [(command.params["merge_key"], {"type": "refused", "oli": command.oli})]
