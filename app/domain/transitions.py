"""Pure: how an order's state moves. Every input returns a `Decision`; nothing here does I/O.

Three inputs reach an order: a channel update (already mapped to the SOM), a payment and
a WMS event. Each is applied to the current state and then `route` decides whether a
fulfillment command is due. The rules:

- A channel update applies only if it is newer than the stored one: (platform modified
  time, status rank) must be greater. A late or repeated update changes nothing.
- Status never moves backwards; a terminal status (CANCELLED/CLOSED) is never left.
- Every accepted change bumps `version` by one and yields one `OrderEvent`.
- A PAID order without holds, with a usable address and no refund in progress, gets
  exactly one SHIP command whose `command_id` is the versioned ID of that state.
- An order whose SHIP command is out and that is then cancelled or gets a refund request
  gets one CANCEL_SHIPMENT command (intercept) with its own command_id.
- Payments that arrive before their order wait in `pending` and apply on arrival.
- An order of a shadow-mode channel (`Order.shadow`) gets events, never a command; when
  its channel goes live, its next channel update clears the flag and it is routed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from app.domain.errors import UnknownOrderError
from app.domain.merge import MERGE_WAIT, UNMERGING
from app.domain.model import (
    FULFILLMENT_RANK,
    STATUS_RANK,
    TERMINAL_STATUSES,
    Address,
    Alert,
    CommandType,
    Fulfillment,
    FulfillmentCommand,
    FulfillmentState,
    Hold,
    HoldSource,
    Line,
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
    RefundStatus,
    RuleRef,
    WmsEvent,
    WmsEventType,
)

REFUND_BLOCKS_SHIPPING = frozenset({RefundStatus.REQUESTED, RefundStatus.REFUNDED})
SHIP_IN_FLIGHT = frozenset(
    {
        FulfillmentState.REQUESTED,
        FulfillmentState.ACCEPTED,
        FulfillmentState.PICKED,
        FulfillmentState.PACKED,
    }
)


@dataclass(frozen=True, slots=True)
class RoutingOutcome:
    """What routing decided for an order about to ship (app/routing computes it from rules,
    the SKU catalog and the geocoder)."""

    carrier: str
    warehouse: str
    #: holds the decision adds (rule holds, approvals, address_unresolved, sku_unmapped, rule_error:<id>)
    holds: tuple[Hold, ...] = ()
    tags: tuple[str, ...] = ()
    rules_fired: tuple[RuleRef, ...] = ()
    #: the normalised receiver address to store on the order, or None to keep it
    address: Address | None = None
    #: the lines with their weights filled in, or None to keep them
    lines: tuple[Line, ...] | None = None


class Router(Protocol):
    def decide(self, order: Order) -> RoutingOutcome: ...


@dataclass(frozen=True, slots=True)
class RoutingDefaults:
    """Where an order ships when no rule says otherwise; also the router without rules."""

    warehouse: str = "WH-DEFAULT"
    carrier: str = "SF"

    def decide(self, order: Order) -> RoutingOutcome:
        return RoutingOutcome(carrier=self.carrier, warehouse=self.warehouse)


@dataclass(frozen=True, slots=True)
class Decision:
    """What applying one input decided. `order is None` means the stored order is unchanged."""

    order: Order | None = None
    events: tuple[OrderEvent, ...] = ()
    commands: tuple[FulfillmentCommand, ...] = ()
    alerts: tuple[Alert, ...] = ()
    #: the new pending-payments list for the key, or None when unchanged
    pending: tuple[Payment, ...] | None = None
    #: why nothing changed ("duplicate", "stale", ...), for the log line
    outcome: str = "applied"

    @property
    def changed(self) -> bool:
        return self.order is not None or self.pending is not None


@dataclass(slots=True)
class _Change:
    """Accumulates the accepted changes of one input."""

    order: Order
    now: datetime
    cause: dict[str, str]
    routing: Router
    events: list[OrderEvent] = field(default_factory=list)
    commands: list[FulfillmentCommand] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    def accept(self, new: Order, event_type: str, rules_fired: tuple[RuleRef, ...] = ()) -> None:
        self.order = replace(new, version=self.order.version + 1)
        self._emit(event_type, rules_fired)

    def create(self, new: Order) -> None:
        self.order = replace(new, version=1)
        self._emit("OrderCreated")

    def _emit(self, event_type: str, rules_fired: tuple[RuleRef, ...] = ()) -> None:
        self.events.append(
            OrderEvent(type=event_type, oli=self.order.oli, version=self.order.version,
                       at=self.now, order=self.order, cause=self.cause, shadow=self.order.shadow,
                       rules_fired=rules_fired)
        )

    def alert(self, kind: str, detail: str) -> None:
        self.alerts.append(Alert(kind=kind, oli=self.order.oli, at=self.now, detail=detail))

    def decision(self) -> Decision:
        return Decision(order=self.order, events=tuple(self.events),
                        commands=tuple(self.commands), alerts=tuple(self.alerts))


# ---------------------------------------------------------------- ordering rules


def is_newer(current: Order, incoming: Order) -> bool:
    """Platform modified time first, then status rank: only a strictly newer update applies."""
    return (incoming.updated_at, STATUS_RANK[incoming.status]) > (
        current.updated_at,
        STATUS_RANK[current.status],
    )


def merged_status(current: Order, incoming: Order) -> OrderStatus:
    if current.status in TERMINAL_STATUSES:
        return current.status
    if incoming.status is OrderStatus.CANCELLED and current.is_paid:
        return OrderStatus.CLOSED  # the platform calls it cancelled, but money was taken
    if incoming.status in TERMINAL_STATUSES:
        return incoming.status
    return max(current.status, incoming.status, key=STATUS_RANK.__getitem__)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return min(a, b)


def merge_update(current: Order, incoming: Order) -> Order:
    """Channel fields from the update; orderhub's own fields (holds, fulfillment) kept."""
    own_holds = tuple(h for h in current.holds if h.source is not HoldSource.CHANNEL)
    if incoming.receiver != current.receiver:  # a new address: the merge wait starts again under its new key
        own_holds = tuple(h for h in own_holds if h.reason != MERGE_WAIT)
    return replace(
        incoming,
        oli=current.oli,
        version=current.version,
        status=merged_status(current, incoming),
        paid_at=_earliest(current.paid_at, incoming.paid_at),
        holds=own_holds + incoming.holds,
        fulfillment=current.fulfillment,
        payment_ids=current.payment_ids,
    )


def _event_type_for(before: Order, after: Order) -> str:
    if after.status is not before.status:
        return {
            OrderStatus.PAID: "OrderPaid",
            OrderStatus.CANCELLED: "OrderCancelled",
            OrderStatus.CLOSED: "OrderClosed",
            OrderStatus.SHIPPED: "OrderShipped",
            OrderStatus.DELIVERED: "OrderDelivered",
            OrderStatus.COMPLETED: "OrderCompleted",
        }.get(after.status, "OrderUpdated")
    if after.refund_status is not before.refund_status:
        return "RefundStatusChanged"
    if len(after.holds) > len(before.holds):
        return "OrderHeld"
    if len(after.holds) < len(before.holds):
        return "OrderReleased"
    return "OrderUpdated"


# ---------------------------------------------------------------- routing


def address_problems(order: Order) -> list[str]:
    r = order.receiver
    missing = [name for name, value in (
        ("receiver.name", r.name), ("receiver.phone", r.phone),
        ("receiver.address.province", r.address.province),
        ("receiver.address.city", r.address.city or r.address.district),
        ("receiver.address.detail", r.address.detail),
    ) if not value]
    return missing


def _needs_ship(order: Order) -> bool:
    f = order.fulfillment
    return (
        order.status is OrderStatus.PAID
        and not order.shadow  # a shadow-mode channel: events only, never a command
        and not order.holds
        and order.refund_status not in REFUND_BLOCKS_SHIPPING
        and (f.state is FulfillmentState.NONE or f.state is FulfillmentState.INTERCEPTED
             or f.state is FulfillmentState.REJECTED)
    )


#: public: the stuck-order watchdog asks the same question (app/domain/watchdog.py)
needs_ship = _needs_ship


def _needs_intercept(order: Order) -> bool:
    f = order.fulfillment
    return f.state in SHIP_IN_FLIGHT and (
        order.status in TERMINAL_STATUSES or order.refund_status in REFUND_BLOCKS_SHIPPING
    )


def _routed(order: Order, outcome: RoutingOutcome) -> Order:
    """The order with what routing found: normalised address, line weights, rule tags."""
    receiver = order.receiver
    if outcome.address is not None:
        receiver = replace(receiver, address=outcome.address)
    new_tags = tuple(t for t in outcome.tags if t not in order.tags)
    return replace(order, receiver=receiver, lines=order.lines if outcome.lines is None else outcome.lines,
                   tags=order.tags + new_tags)


#: holds that say the order's data is wrong: they come back until the data is fixed, release or not
DATA_HOLDS = frozenset({"address_invalid", "address_unresolved", "sku_unmapped"})


def _released(order: Order, hold: Hold) -> bool:
    """A rule's hold or approval an operator already released is not put on again."""
    data_problem = hold.reason in DATA_HOLDS or hold.reason.startswith("rule_error:")
    return not data_problem and hold.reason in order.released


def route(change: _Change) -> None:
    """Decide the fulfillment command due for the order's current state, if any.

    An order due to ship is routed (`Router.decide`: address, weights, rules); any hold
    routing adds, or a missing address field, holds it instead of shipping. The rules
    that fired are recorded on the order event, the command and the order's fulfillment.
    """
    order = change.order
    if _needs_ship(order):
        outcome = change.routing.decide(order)
        order = _routed(order, outcome)
        problems = address_problems(order)
        holds = tuple(h for h in outcome.holds if not _released(order, h))
        if problems:
            holds = (Hold("address_invalid", "missing " + ", ".join(problems), HoldSource.SYSTEM),) + holds
        if holds:
            change.accept(replace(order, holds=order.holds + holds), "OrderHeld", outcome.rules_fired)
            return
        command_id = order.versioned_id
        fulfillment = Fulfillment(
            warehouse=order.chosen_warehouse or order.fulfillment.warehouse or outcome.warehouse,
            carrier=order.chosen_carrier or order.fulfillment.carrier or outcome.carrier,
            command_id=command_id,
            state=FulfillmentState.REQUESTED,
            rules_fired=outcome.rules_fired,
            requested_at=change.now,
        )
        change.commands.append(FulfillmentCommand(
            command_id=command_id, type=CommandType.SHIP, oli=order.oli, version=order.version,
            warehouse=fulfillment.warehouse, carrier=fulfillment.carrier,
            receiver=order.receiver, lines=order.lines, requested_at=change.now,
            trace=dict(change.cause), rules_fired=outcome.rules_fired, parcels=order.parcels,
            merged=order.merged,
        ))
        change.accept(replace(order, fulfillment=fulfillment), "FulfillmentRequested", outcome.rules_fired)
    elif _needs_intercept(order):
        f = order.fulfillment
        command_id = order.versioned_id
        change.commands.append(FulfillmentCommand(
            command_id=command_id, type=CommandType.CANCEL_SHIPMENT, oli=order.oli,
            version=order.version, warehouse=f.warehouse, carrier=f.carrier,
            receiver=order.receiver, lines=order.lines, requested_at=change.now,
            cancels=f.command_id, trace=dict(change.cause),
        ))
        change.accept(
            replace(order, fulfillment=replace(f, state=FulfillmentState.CANCEL_REQUESTED,
                                               cancel_command_id=command_id)),
            "FulfillmentCancelRequested",
        )


# ---------------------------------------------------------------- inputs


def _pay(change: _Change, payment: Payment) -> None:
    order = change.order
    ids = tuple(sorted(order.payment_ids + (payment.payment_id,)))
    if order.status is OrderStatus.PENDING_PAYMENT:
        change.accept(replace(order, status=OrderStatus.PAID, payment_ids=ids,
                              paid_at=_earliest(order.paid_at, payment.paid_at)), "OrderPaid")
    else:
        if order.status is OrderStatus.CANCELLED:
            change.alert("payment_for_cancelled_order",
                         f"payment {payment.payment_id} arrived for a cancelled order")
        change.accept(replace(order, payment_ids=ids), "PaymentRecorded")


def apply_channel_update(
    current: Order | None,
    incoming: Order,
    pending: tuple[Payment, ...],
    now: datetime,
    routing: Router,
) -> Decision:
    cause = {"source": "channel", "ref": f"{incoming.channel_status}@{incoming.updated_at.isoformat()}"}
    if current is None:
        change = _Change(order=incoming, now=now, cause=cause, routing=routing)
        change.create(incoming)
        for payment in pending:
            if payment.payment_id not in change.order.payment_ids:
                _pay(change, payment)
        route(change)
        return replace(change.decision(), pending=() if pending else None)
    if not is_newer(current, incoming):
        return Decision(outcome="stale_or_duplicate")
    merged = merge_update(current, incoming)
    if replace(merged, updated_at=current.updated_at) == current:
        return Decision(outcome="no_material_change")
    change = _Change(order=current, now=now, cause=cause, routing=routing)
    change.accept(merged, _event_type_for(current, merged))
    route(change)
    return change.decision()


def apply_payment(
    current: Order | None,
    payment: Payment,
    pending: tuple[Payment, ...],
    now: datetime,
    routing: Router,
) -> Decision:
    if current is None:
        if any(p.payment_id == payment.payment_id for p in pending):
            return Decision(outcome="duplicate")
        return Decision(pending=pending + (payment,), outcome="pending")
    if payment.payment_id in current.payment_ids:
        return Decision(outcome="duplicate")
    change = _Change(order=current, now=now, routing=routing,
                     cause={"source": "payment", "ref": payment.payment_id})
    _pay(change, payment)
    route(change)
    return change.decision()


_PROGRESS = {
    WmsEventType.ACCEPTED: FulfillmentState.ACCEPTED,
    WmsEventType.PICKED: FulfillmentState.PICKED,
    WmsEventType.PACKED: FulfillmentState.PACKED,
}


def apply_wms_event(
    current: Order | None, event: WmsEvent, now: datetime, routing: Router
) -> Decision:
    if current is None:
        raise UnknownOrderError(f"WMS event {event.event} for unknown order {event.oli}")
    f = current.fulfillment
    change = _Change(order=current, now=now, routing=routing,
                     cause={"source": "wms", "ref": f"{event.command_id}:{event.event}"})
    kind = event.event
    if event.command_id == f.command_id and f.command_id:
        if kind in _PROGRESS:
            new_state = _PROGRESS[kind]
            if f.state not in FULFILLMENT_RANK or FULFILLMENT_RANK[new_state] <= FULFILLMENT_RANK[f.state]:
                return Decision(outcome="stale_or_duplicate")
            change.accept(replace(current, fulfillment=replace(f, state=new_state)),
                          "FulfillmentAccepted" if kind is WmsEventType.ACCEPTED else "FulfillmentProgressed")
        elif kind is WmsEventType.SHIPPED:
            if f.state is FulfillmentState.SHIPPED:
                return Decision(outcome="duplicate")
            status = current.status
            if status not in TERMINAL_STATUSES and STATUS_RANK[status] < STATUS_RANK[OrderStatus.SHIPPED]:
                status = OrderStatus.SHIPPED
            change.accept(replace(current, status=status, fulfillment=replace(
                f, state=FulfillmentState.SHIPPED, tracking_no=event.tracking_no,
                carrier=event.carrier or f.carrier, shipped_at=event.at)), "OrderShipped")
        elif kind is WmsEventType.REJECTED:
            if f.state in (FulfillmentState.REJECTED, FulfillmentState.SHIPPED):
                return Decision(outcome="stale_or_duplicate")
            change.accept(replace(current, fulfillment=replace(f, state=FulfillmentState.REJECTED),
                                  holds=current.holds + (Hold("wms_rejected", event.reason),)),
                          "OrderHeld")
            change.alert("wms_rejected", f"{f.command_id} rejected: {event.reason or 'no reason given'}")
        else:
            return Decision(outcome="unexpected_event")
    elif event.command_id == f.cancel_command_id and f.cancel_command_id:
        if f.state is not FulfillmentState.CANCEL_REQUESTED:
            return Decision(outcome="stale_or_duplicate")
        undoing_merge = any(h.reason == UNMERGING for h in current.holds)
        if kind is WmsEventType.INTERCEPTED:
            # the merged parcel was stopped: the merge ends and the order routes alone
            intercepted = replace(current, fulfillment=replace(f, state=FulfillmentState.INTERCEPTED))
            if undoing_merge:
                intercepted = replace(intercepted, merged=(),
                                      holds=tuple(h for h in current.holds if h.reason != UNMERGING))
            change.accept(intercepted, "ShipmentIntercepted")
        elif kind is WmsEventType.TOO_LATE:
            # too late to undo a merge: it stands, its parcel left
            holds = tuple(h for h in current.holds if h.reason != UNMERGING)
            if current.status not in TERMINAL_STATUSES and current.refund_status not in REFUND_BLOCKS_SHIPPING:
                # the cancel was for a change (address, carrier, ...): the old parcel left, so no
                # new SHIP goes out until an operator decides
                holds += (Hold("intercept_too_late", f"{f.command_id} left the warehouse before the change",
                               HoldSource.SYSTEM),)
            change.accept(replace(current, holds=holds, fulfillment=replace(f, state=FulfillmentState.TOO_LATE)),
                          "InterceptTooLate")
            change.alert("intercept_too_late",
                         f"{f.cancel_command_id}: parcel of {f.command_id} already left the warehouse")
        else:
            return Decision(outcome="unexpected_event")
    else:
        return Decision(outcome="stale_command")
    route(change)
    return change.decision()


def route_again(current: Order, now: datetime, cause: dict[str, str], routing: Router) -> Decision:
    """Route an order whose state did not change: the watchdog's repair of a paid order without a command."""
    change = _Change(order=current, now=now, cause=cause, routing=routing)
    route(change)
    if change.order is current:
        return Decision(outcome="nothing_to_route")
    return change.decision()
