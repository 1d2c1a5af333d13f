"""Pure: the stuck-order watchdog. When a paid order's SHIP command is overdue, what to do about it.

An order is *watched* while it is PAID, shippable (not held, not shadow, no refund in
progress) and either has no SHIP command out (`needs_ship`: lost between decision and
send, or never routed) or has one the warehouse has not acknowledged yet (fulfillment
state REQUESTED). The ledger lives in the order's `Fulfillment` (written to the orders
table and its changelog, so a new owner after a rebalance continues it):

- the command was first sent at `requested_at`; the warehouse has `stuck_after` to answer;
- the n-th send (1 = the first) waits `stuck_after * 2**(n-1)` for an acknowledgement, then
  the same command (same `command_id`: the WMS de-duplicates on it) is sent again, up to
  `max_recommands` times;
- after the last re-send has waited its turn, the order is raised once as `order_stuck`
  (`stuck_alerted_at` set: a later owner never raises it again) and waits for an operator.

`assess` decides, `apply_tick` turns the decision into a `Decision` for the agent. Both
take `now` from the caller.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.domain import transitions
from app.domain.model import (
    CommandType,
    FulfillmentCommand,
    FulfillmentState,
    Order,
    OrderStatus,
    StuckAlert,
)

__all__ = ["STUCK_ALERT", "Verdict", "WatchAction", "WatchdogPolicy", "WatchdogTick", "apply_tick", "assess",
           "awaiting_ack"]

STUCK_ALERT = "order_stuck"


class WatchAction(enum.StrEnum):
    NONE = "none"
    COMMAND = "command"  # paid and shippable, but no SHIP command out: route it now
    RECOMMAND = "recommand"  # send the same command again
    ALERT = "alert"  # raise it once as stuck


@dataclass(frozen=True, slots=True)
class WatchdogPolicy:
    stuck_after: timedelta
    max_recommands: int = 3

    def wait_after(self, sends: int) -> timedelta:
        """How long the `sends`-th send of a command (1 = the first) waits for an acknowledgement."""
        return self.stuck_after * (1 << (sends - 1))

    @property
    def alert_after(self) -> timedelta:
        """From the first send to the stuck alert, when the warehouse never answers."""
        return sum((self.wait_after(n) for n in range(1, self.max_recommands + 2)), timedelta())


@dataclass(frozen=True, slots=True)
class Verdict:
    action: WatchAction
    #: when the watchdog should look at the order next (None: not watched, or nothing more to do)
    due_at: datetime | None = None
    #: past its SLA without an acknowledgement (being re-sent, due, or raised)
    overdue: bool = False
    #: already raised as stuck
    alerted: bool = False


@dataclass(frozen=True, slots=True)
class WatchdogTick:
    """The watchdog asks the order's owner to check it (an internal input on `order-inputs`)."""

    oli: str
    at: datetime


def awaiting_ack(order: Order) -> bool:
    """Paid, shippable, and its SHIP command is out without a warehouse acknowledgement."""
    return (order.status is OrderStatus.PAID and not order.shadow and not order.holds
            and order.refund_status not in transitions.REFUND_BLOCKS_SHIPPING
            and order.fulfillment.state is FulfillmentState.REQUESTED)


def assess(order: Order, now: datetime, policy: WatchdogPolicy) -> Verdict:
    if transitions.needs_ship(order):  # a decision that never became a command
        due = (order.paid_at or order.updated_at) + policy.stuck_after
        return Verdict(WatchAction.COMMAND if now >= due else WatchAction.NONE, due, overdue=now >= due)
    if not awaiting_ack(order):
        return Verdict(WatchAction.NONE)
    f = order.fulfillment
    if f.stuck_alerted_at is not None:
        return Verdict(WatchAction.NONE, overdue=True, alerted=True)
    due = f.next_check_at or (f.requested_at or order.paid_at or order.updated_at) + policy.wait_after(1)
    if now < due:
        return Verdict(WatchAction.NONE, due, overdue=f.recommands > 0)
    action = WatchAction.RECOMMAND if f.recommands < policy.max_recommands else WatchAction.ALERT
    return Verdict(action, due, overdue=True)


def _command_version(order: Order) -> int:
    """The version in `command_id` (`{oli}@{version}`): the state the command was decided on."""
    raw = order.fulfillment.command_id.rpartition("@")[2]
    return int(raw) if raw.isdigit() else order.version


def _resend(order: Order, now: datetime, attempt: int) -> FulfillmentCommand:
    f = order.fulfillment
    return FulfillmentCommand(
        command_id=f.command_id, type=CommandType.SHIP, oli=order.oli, version=_command_version(order),
        warehouse=f.warehouse, carrier=f.carrier, receiver=order.receiver, lines=order.lines,
        requested_at=f.requested_at or now, trace={"source": "watchdog", "ref": f"{f.command_id}#{attempt}"},
        rules_fired=f.rules_fired, parcels=order.parcels, merged=order.merged, attempt=attempt)


def apply_tick(order: Order | None, now: datetime, policy: WatchdogPolicy,
               routing: transitions.Router) -> transitions.Decision:
    """What the watchdog's check of one order does, applied by the order's owner in its input order."""
    if order is None:
        return transitions.Decision(outcome="watchdog_unknown_order")
    verdict = assess(order, now, policy)
    f = order.fulfillment
    if verdict.action is WatchAction.COMMAND:
        return transitions.route_again(order, now, {"source": "watchdog", "ref": "no_command"}, routing)
    if verdict.action is WatchAction.RECOMMAND:
        sends = f.recommands + 2
        ledger = replace(f, recommands=f.recommands + 1, next_check_at=now + policy.wait_after(sends))
        return transitions.Decision(order=replace(order, fulfillment=ledger),
                                    commands=(_resend(order, now, sends),), outcome="recommanded")
    if verdict.action is WatchAction.ALERT:
        sends = f.recommands + 1
        since = f.requested_at or order.paid_at or order.updated_at
        alert = StuckAlert(kind=STUCK_ALERT, oli=order.oli, at=now, command_id=f.command_id, attempts=sends,
                           detail=f"{f.command_id} not acknowledged by the warehouse after {sends} sends "
                                  f"over {int((now - since).total_seconds())} s")
        ledger = replace(f, stuck_alerted_at=now, next_check_at=None)
        return transitions.Decision(order=replace(order, fulfillment=ledger), alerts=(alert,),
                                    outcome="raised_stuck")
    return transitions.Decision(outcome="watchdog_nothing_due")
