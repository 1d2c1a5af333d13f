"""Pure: applying an operator command to an order. Returns what to publish and store.

`apply_command` takes the stored order, its approvals and one command from
`ops-commands` and decides, like `transitions.py` does for channel inputs:

- a command the policy lets through applies at once; routing runs again;
- a command that needs approval puts the order on hold (`approval_pending`: no
  fulfillment command goes out) and opens an approval;
- `approve` adds an approver; with enough distinct approvers the hold is lifted, the
  change applies and routing runs again; `reject` lifts the hold and changes nothing else;
- a change of address, carrier, warehouse or parcels while a SHIP command is out sends a
  CANCEL_SHIPMENT for it and a new SHIP;
- every step is an audit entry; a refused command (stale version, already shipped, own
  approval) is an audit entry too, and nothing else changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from app.domain import approvals as ap
from app.domain import transitions
from app.domain.audit import AuditEntry, changed_fields
from app.domain.commands import MERGE_ACTIONS, OpsCommand, check_against, command_from_dict
from app.domain.errors import OrderhubError, ValidationError
from app.domain.merge import MERGE_WAIT, MERGED_INTO, UNMERGING
from app.domain.model import (
    Address,
    CommandType,
    FulfillmentCommand,
    FulfillmentState,
    Hold,
    HoldSource,
    Order,
    OrderStatus,
    Receiver,
)

APPROVAL_HOLD = "approval_pending"
OPERATOR_HOLD = "operator_hold"
#: holds a plain `release` does not lift: an approval is decided, a merge is undone
KEPT_ON_RELEASE = frozenset({APPROVAL_HOLD, MERGED_INTO, UNMERGING})
#: changes the warehouse must learn about: a SHIP already out is cancelled and sent again
RESHIP_ACTIONS = frozenset({"change_address", "set_carrier", "set_warehouse", "split"})
_EVENT_TYPE = {
    "change_address": "AddressChanged", "set_carrier": "CarrierSet", "set_warehouse": "WarehouseSet",
    "hold": "OrderHeld", "release": "OrderReleased", "cancel": "OrderCancelled", "split": "OrderSplit",
}


@dataclass(frozen=True, slots=True)
class OpsDecision:
    decision: transitions.Decision
    #: the order's new approvals, or None when unchanged
    approvals: tuple[ap.Approval, ...] | None = None
    audit: tuple[AuditEntry, ...] = ()
    outcome: str = "applied"


def _view(order: Order, action: str) -> dict[str, Any]:
    """The fields a command touches, as JSON-able values (the audit's before/after)."""
    if action == "change_address":
        return {"receiver": asdict(order.receiver)}
    if action == "set_carrier":
        return {"carrier": order.fulfillment.carrier}
    if action == "set_warehouse":
        return {"warehouse": order.fulfillment.warehouse}
    if action == "split":
        return {"parcels": [list(p) for p in order.parcels]}
    return {"status": order.status.value, "holds": [h.reason for h in order.holds]}


def _changed(order: Order, command: OpsCommand) -> Order:
    p = command.params
    if command.action == "change_address":
        r = order.receiver
        new_address = asdict(r.address) | p["receiver"].get("address", {})
        return replace(order, receiver=Receiver(
            name=p["receiver"].get("name", r.name), phone=p["receiver"].get("phone", r.phone),
            address=Address(**new_address), masked=r.masked and not ({"name", "phone"} <= set(p["receiver"]))))
    if command.action == "set_carrier":
        return replace(order, chosen_carrier=p["carrier"],
                       fulfillment=replace(order.fulfillment, carrier=p["carrier"]))
    if command.action == "set_warehouse":
        return replace(order, chosen_warehouse=p["warehouse"],
                       fulfillment=replace(order.fulfillment, warehouse=p["warehouse"]))
    if command.action == "split":
        return replace(order, parcels=tuple(tuple(x) for x in p["parcels"]))
    if command.action == "hold":
        return replace(order, holds=order.holds + (Hold(OPERATOR_HOLD, command.reason, HoldSource.OPERATOR),))
    if command.action == "release":
        kept = tuple(h for h in order.holds if h.source is HoldSource.CHANNEL or h.reason in KEPT_ON_RELEASE)
        released = tuple(dict.fromkeys(order.released + tuple(h.reason for h in order.holds if h not in kept)))
        return replace(order, holds=kept, released=released)
    if command.action == "cancel":
        return replace(order, status=OrderStatus.CLOSED if order.is_paid else OrderStatus.CANCELLED)
    raise ValidationError(f"field 'command': unknown command {command.action!r}")


def _without_approval_hold(order: Order, approval_id: str) -> Order:
    return replace(order, holds=tuple(h for h in order.holds
                                      if not (h.reason == APPROVAL_HOLD and h.detail == approval_id)))


def _entry(command: OpsCommand, action: str, order: Order, **kw: Any) -> AuditEntry:
    return AuditEntry(at=kw.pop("at", command.at), actor=kw.pop("actor", command.actor),
                      role=kw.pop("role", command.role), action=action, oli=command.oli,
                      command=command.action, reason=kw.pop("reason", command.reason),
                      request_id=command.request_id, job_id=command.job_id, version=order.version, **kw)


def _apply(change: transitions._Change, base: Order, command: OpsCommand, approval_id: str = "") -> AuditEntry:
    """Apply the change on `base` (the stored order, maybe with a hold lifted) and route again."""
    before = change.order
    new = _changed(base, command)
    if command.action in ("change_address", "split"):
        # a new address may route elsewhere: routing decides carrier and warehouse anew for the
        # next SHIP (what an operator chose with set_carrier / set_warehouse stays: Order.chosen_*)
        new = replace(new, fulfillment=replace(new.fulfillment, carrier="", warehouse=""),
                      holds=tuple(h for h in new.holds if h.reason != MERGE_WAIT))  # waits again, new key
    in_flight = before.fulfillment.state in transitions.SHIP_IN_FLIGHT
    change.accept(new, _EVENT_TYPE[command.action])
    if in_flight and command.action in RESHIP_ACTIONS:
        cancel_shipment(change, before)
    reroute(change)
    b, a = changed_fields(_view(before, command.action), _view(change.order, command.action))
    return _entry(command, "command_applied", change.order, before=b, after=a, approval_id=approval_id,
                  at=change.now)


def cancel_shipment(change: transitions._Change, before: Order) -> None:
    """Ask the warehouse to cancel the SHIP that is out. The new SHIP waits for its answer:
    INTERCEPTED routes the order again, TOO_LATE holds it (`intercept_too_late`)."""
    f = change.order.fulfillment
    cancel_id = change.order.versioned_id
    change.commands.append(FulfillmentCommand(
        command_id=cancel_id, type=CommandType.CANCEL_SHIPMENT, oli=before.oli,
        version=change.order.version, warehouse=before.fulfillment.warehouse,
        carrier=before.fulfillment.carrier, receiver=before.receiver, lines=before.lines,
        requested_at=change.now, cancels=f.command_id, trace=dict(change.cause),
        parcels=before.parcels, merged=before.merged))
    change.accept(replace(change.order, fulfillment=replace(
        f, state=FulfillmentState.CANCEL_REQUESTED, cancel_command_id=cancel_id)),
        "FulfillmentCancelRequested")


def reroute(change: transitions._Change) -> None:
    """Routing runs again after an operator change (the one call into the routing rules)."""
    transitions.route(change)


def refused(command: OpsCommand, order: Order | None, exc: OrderhubError) -> OpsDecision:
    entry = AuditEntry(at=command.at, actor=command.actor, role=command.role, action="command_refused",
                       oli=command.oli, command=command.action, reason=str(exc),
                       request_id=command.request_id, approval_id=command.approval_id,
                       job_id=command.job_id, version=order.version if order else 0,
                       after={"error": exc.code})
    return OpsDecision(transitions.Decision(outcome=exc.code), audit=(entry,), outcome=exc.code)


def apply_command(order: Order | None, approvals: tuple[ap.Approval, ...], command: OpsCommand,
                  policy: ap.ApprovalPolicy, now: datetime,
                  routing: transitions.Router) -> OpsDecision:
    try:
        if order is None:
            raise ValidationError(f"order {command.oli!r} not found")
        if command.action in ("approve", "reject"):
            return _decide_approval(order, approvals, command, policy, now, routing)
        if command.action in MERGE_ACTIONS:
            from app.domain.merge_orders import apply_merge_command

            return apply_merge_command(order, command, now, routing)
        check_against(order, command)
    except OrderhubError as exc:
        return refused(command, order, exc)
    cause = {"source": "operator", "ref": command.request_id}
    change = transitions._Change(order=order, now=now, cause=cause, routing=routing)
    levels = policy.levels(order, command)
    if levels == 0:
        entry = _apply(change, order, command)
        return OpsDecision(change.decision(), audit=(entry,))
    approval = ap.Approval(
        approval_id=ap.approval_id_for(command), oli=order.oli, state=ap.ApprovalState.PENDING,
        levels=levels, command=_wire(command), requested_by=command.actor, requested_at=now,
        amount=order.amounts.total, currency=order.amounts.currency)
    held = replace(order, holds=order.holds + (Hold(APPROVAL_HOLD, approval.approval_id, HoldSource.OPERATOR),))
    change.accept(held, "OrderHeld")
    entry = _entry(command, "approval_requested", change.order, at=now, approval_id=approval.approval_id,
                   before=_view(order, command.action), after=dict(command.params) | {"levels": levels})
    return OpsDecision(change.decision(), approvals=ap.upsert(approvals, approval), audit=(entry,),
                       outcome="approval_pending")


def _wire(command: OpsCommand) -> dict[str, Any]:
    d = asdict(command)
    d["at"] = command.at.isoformat()
    return d


def _decide_approval(order: Order, approvals: tuple[ap.Approval, ...], command: OpsCommand,
                     policy: ap.ApprovalPolicy, now: datetime,
                     routing: transitions.Router) -> OpsDecision:
    approve = command.action == "approve"
    approval = ap.check_decider(ap.find(approvals, command.approval_id), command.actor, command.approval_id)
    decided = ap.record_step(approval, command.actor, command.reason, now, approve=approve)
    requested = command_from_dict(approval.command)
    cause = {"source": "operator", "ref": command.request_id}
    change = transitions._Change(order=order, now=now, cause=cause, routing=routing)
    step = AuditEntry(at=now, actor=command.actor, role=command.role,
                      action="approval_granted" if approve else "approval_rejected", oli=order.oli,
                      command=requested.action, reason=command.reason, request_id=command.request_id,
                      approval_id=approval.approval_id, job_id=requested.job_id, version=order.version,
                      after={"approvers": list(decided.approvers), "levels": decided.levels,
                             "state": decided.state.value})
    entries = [step]
    base = _without_approval_hold(order, approval.approval_id)
    if decided.state is ap.ApprovalState.PENDING:
        return OpsDecision(change.decision() if change.events else transitions.Decision(outcome="approval_step"),
                           approvals=ap.upsert(approvals, decided), audit=(step,), outcome="approval_step")
    if decided.state is ap.ApprovalState.REJECTED:
        change.accept(base, "OrderReleased")
        reroute(change)
    else:
        try:
            check_against(order, replace(requested, if_version=None))
        except OrderhubError as exc:
            # the order moved on (shipped, cancelled) while the change waited: lift the hold only
            change.accept(base, "OrderReleased")
            reroute(change)
            entries.append(replace(refused(requested, order, exc).audit[0], at=now,
                                   approval_id=approval.approval_id))
            return OpsDecision(change.decision(), approvals=ap.upsert(approvals, decided),
                               audit=tuple(entries), outcome=exc.code)
        entries.append(_apply(change, base, requested, approval.approval_id))
    return OpsDecision(change.decision(), approvals=ap.upsert(approvals, decided), audit=tuple(entries),
                       outcome=decided.state.value)


def automatic_holds(decision: transitions.Decision, now: datetime) -> tuple[AuditEntry, ...]:
    """Audit entries for holds orderhub put on by itself (invalid address, WMS rejection, channel)."""
    entries = []
    for event in decision.events:
        if event.type != "OrderHeld":
            continue
        for hold in event.order.holds[-1:]:  # a hold is appended: the last one is new
            if hold.source is not HoldSource.OPERATOR and hold.reason != APPROVAL_HOLD:
                entries.append(AuditEntry(at=now, actor="orderhub", role="system", action="automatic_hold",
                                          oli=event.oli, reason=f"{hold.reason}: {hold.detail}".rstrip(": "),
                                          after={"hold": hold.reason}, version=event.version,
                                          request_id=event.cause.get("ref", "")))
    return tuple(entries)
