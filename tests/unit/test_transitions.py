"""Unit: order state transitions (pure), including the convergence property."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import UnknownOrderError
from app.domain.identity import make_oli
from app.domain.model import (
    Address,
    CommandType,
    FulfillmentState,
    Hold,
    HoldSource,
    Line,
    Order,
    OrderStatus,
    Payment,
    Receiver,
    RefundStatus,
    WmsEvent,
    WmsEventType,
)
from app.domain.transitions import (
    Decision,
    RoutingDefaults,
    apply_channel_update,
    apply_payment,
    apply_wms_event,
    is_newer,
)

T0 = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 11, 3, 0, tzinfo=UTC)
ROUTING = RoutingDefaults("WH-1", "SF")
OLI = make_oli("taobao", "shop1", "1001")
RECEIVER = Receiver("张*", "138****5678", Address(province="浙江省", city="杭州市", district="西湖区",
                                                 detail="三墩镇1号"), masked=True)


def update(status: OrderStatus, minutes: int, *, channel_status: str = "", paid: bool = False,
           refund: RefundStatus = RefundStatus.NONE, memo: str = "", receiver: Receiver = RECEIVER,
           holds: tuple[Hold, ...] = ()) -> Order:
    return Order(
        oli=OLI, version=0, channel="taobao", shop_id="shop1", external_id="1001", status=status,
        channel_status=channel_status or status.value, updated_at=T0 + timedelta(minutes=minutes),
        refund_status=refund, receiver=receiver, lines=(Line("1", "sku-1", quantity=2, unit_price=9900),),
        created_at=T0, paid_at=T0 + timedelta(minutes=1) if paid else None, seller_memo=memo, holds=holds)


def payment(pid: str = "p1", minutes: int = 1) -> Payment:
    return Payment(pid, "taobao", "shop1", "1001", 19800, "CNY", T0 + timedelta(minutes=minutes), "alipay")


class Runner:
    """Applies inputs the way the agent does: table state and pending payments per key."""

    def __init__(self) -> None:
        self.order: Order | None = None
        self.pending: tuple[Payment, ...] = ()
        self.decisions: list[Decision] = []

    def feed(self, item: Order | Payment | WmsEvent) -> Decision:
        if isinstance(item, Order):
            d = apply_channel_update(self.order, item, self.pending, NOW, ROUTING)
        elif isinstance(item, Payment):
            d = apply_payment(self.order, item, self.pending, NOW, ROUTING)
        else:
            d = apply_wms_event(self.order, item, NOW, ROUTING)
        if d.order is not None:
            self.order = d.order
        if d.pending is not None:
            self.pending = d.pending
        self.decisions.append(d)
        return d

    @property
    def commands(self):  # type: ignore[no-untyped-def]
        return [c for d in self.decisions for c in d.commands]

    @property
    def events(self):  # type: ignore[no-untyped-def]
        return [e for d in self.decisions for e in d.events]


def test_new_paid_order_gets_one_ship_command_named_by_its_version() -> None:
    r = Runner()
    d = r.feed(update(OrderStatus.PAID, 1, paid=True))
    assert [e.type for e in d.events] == ["OrderCreated", "FulfillmentRequested"]
    assert [c.type for c in d.commands] == [CommandType.SHIP]
    assert d.commands[0].command_id == f"{OLI}@1"
    assert d.order is not None and d.order.version == 2
    assert d.order.fulfillment.command_id == f"{OLI}@1"
    assert d.order.fulfillment.warehouse == "WH-1"


def test_duplicate_and_late_updates_change_nothing() -> None:
    r = Runner()
    r.feed(update(OrderStatus.PENDING_PAYMENT, 0))
    r.feed(update(OrderStatus.PAID, 5, paid=True))
    assert not r.feed(update(OrderStatus.PAID, 5, paid=True)).changed  # same again
    assert not r.feed(update(OrderStatus.PENDING_PAYMENT, 0)).changed  # late
    assert not r.feed(update(OrderStatus.PENDING_PAYMENT, 3)).changed  # older than the paid one
    assert r.order is not None and r.order.status is OrderStatus.PAID
    assert len(r.commands) == 1


def test_status_never_moves_backwards_on_a_newer_update() -> None:
    r = Runner()
    r.feed(update(OrderStatus.PENDING_PAYMENT, 0))
    r.feed(payment())
    d = r.feed(update(OrderStatus.PENDING_PAYMENT, 9, memo="加急"))  # platform lags behind the payment
    assert d.order is not None and d.order.status is OrderStatus.PAID and d.order.seller_memo == "加急"
    assert len(r.commands) == 1


def test_real_change_bumps_version_once() -> None:
    r = Runner()
    r.feed(update(OrderStatus.PENDING_PAYMENT, 0))
    d = r.feed(update(OrderStatus.PENDING_PAYMENT, 2, memo="周末送"))
    assert d.order is not None and d.order.version == 2 and [e.type for e in d.events] == ["OrderUpdated"]


def test_payment_before_order_waits_then_applies() -> None:
    r = Runner()
    d = r.feed(payment())
    assert d.pending == (payment(),) and not d.events and r.order is None
    assert not r.feed(payment()).changed  # the same payment twice while pending
    d = r.feed(update(OrderStatus.PENDING_PAYMENT, 0))
    assert [e.type for e in d.events] == ["OrderCreated", "OrderPaid", "FulfillmentRequested"]
    assert d.pending == ()
    assert [c.command_id for c in d.commands] == [f"{OLI}@2"]


def test_duplicate_payment_changes_nothing() -> None:
    r = Runner()
    r.feed(update(OrderStatus.PENDING_PAYMENT, 0))
    r.feed(payment())
    assert r.feed(payment()).outcome == "duplicate"
    assert len(r.commands) == 1


def test_cancel_before_payment_emits_no_command() -> None:
    r = Runner()
    r.feed(update(OrderStatus.PENDING_PAYMENT, 0))
    d = r.feed(update(OrderStatus.CANCELLED, 30))
    assert d.order is not None and d.order.status is OrderStatus.CANCELLED
    assert [e.type for e in d.events] == ["OrderCancelled"] and not r.commands


def test_platform_cancel_after_local_payment_is_closed_and_intercepted() -> None:
    r = Runner()
    r.feed(update(OrderStatus.PENDING_PAYMENT, 0))
    r.feed(payment())
    d = r.feed(update(OrderStatus.CANCELLED, 30))
    assert d.order is not None and d.order.status is OrderStatus.CLOSED
    assert [c.type for c in d.commands] == [CommandType.CANCEL_SHIPMENT]
    cancel = d.commands[0]
    assert cancel.cancels == f"{OLI}@2" and cancel.command_id != cancel.cancels
    assert d.order.fulfillment.state is FulfillmentState.CANCEL_REQUESTED


def test_refund_request_intercepts_and_too_late_alerts() -> None:
    r = Runner()
    r.feed(update(OrderStatus.PAID, 1, paid=True))
    ship_id = r.commands[0].command_id
    r.feed(WmsEvent(ship_id, OLI, WmsEventType.ACCEPTED, NOW))
    d = r.feed(update(OrderStatus.PAID, 10, paid=True, refund=RefundStatus.REQUESTED))
    cancel_id = d.commands[0].command_id
    d = r.feed(WmsEvent(cancel_id, OLI, WmsEventType.TOO_LATE, NOW))
    assert [a.kind for a in d.alerts] == ["intercept_too_late"]
    assert d.order is not None and d.order.fulfillment.state is FulfillmentState.TOO_LATE


def test_intercepted_then_refund_rejected_ships_again_with_a_new_command_id() -> None:
    r = Runner()
    r.feed(update(OrderStatus.PAID, 1, paid=True))
    r.feed(update(OrderStatus.PAID, 10, paid=True, refund=RefundStatus.REQUESTED))
    cancel_id = r.commands[-1].command_id
    r.feed(WmsEvent(cancel_id, OLI, WmsEventType.INTERCEPTED, NOW))
    d = r.feed(update(OrderStatus.PAID, 20, paid=True, refund=RefundStatus.REJECTED_OR_CLOSED))
    ships = [c for c in r.commands if c.type is CommandType.SHIP]
    assert len(ships) == 2 and ships[0].command_id != ships[1].command_id
    assert d.order is not None and d.order.fulfillment.state is FulfillmentState.REQUESTED


def test_wms_lifecycle_and_duplicates() -> None:
    r = Runner()
    r.feed(update(OrderStatus.PAID, 1, paid=True))
    cid = r.commands[0].command_id
    assert r.feed(WmsEvent(cid, OLI, WmsEventType.ACCEPTED, NOW)).order is not None
    assert not r.feed(WmsEvent(cid, OLI, WmsEventType.ACCEPTED, NOW)).changed
    d = r.feed(WmsEvent(cid, OLI, WmsEventType.SHIPPED, NOW, carrier="YTO", tracking_no="YT1"))
    assert d.order is not None and d.order.status is OrderStatus.SHIPPED
    assert d.order.fulfillment.tracking_no == "YT1" and d.order.fulfillment.carrier == "YTO"
    assert [e.type for e in d.events] == ["OrderShipped"]
    assert not r.feed(WmsEvent(cid, OLI, WmsEventType.SHIPPED, NOW)).changed
    assert not r.feed(WmsEvent(cid, OLI, WmsEventType.PICKED, NOW)).changed  # late progress
    assert r.feed(WmsEvent("other@9", OLI, WmsEventType.ACCEPTED, NOW)).outcome == "stale_command"


def test_wms_rejection_holds_the_order_and_alerts() -> None:
    r = Runner()
    r.feed(update(OrderStatus.PAID, 1, paid=True))
    d = r.feed(WmsEvent(r.commands[0].command_id, OLI, WmsEventType.REJECTED, NOW, reason="no stock"))
    assert d.order is not None and [h.reason for h in d.order.holds] == ["wms_rejected"]
    assert [a.kind for a in d.alerts] == ["wms_rejected"] and len(r.commands) == 1


def test_wms_event_for_unknown_order_is_an_error() -> None:
    with pytest.raises(UnknownOrderError, match="unknown order"):
        apply_wms_event(None, WmsEvent("x@1", "tb-x-y", WmsEventType.ACCEPTED, NOW), NOW, ROUTING)


def test_missing_address_holds_instead_of_shipping() -> None:
    r = Runner()
    d = r.feed(update(OrderStatus.PAID, 1, paid=True, receiver=replace(RECEIVER, address=Address())))
    assert not r.commands
    assert d.order is not None and d.order.holds[0].reason == "address_invalid"
    assert "receiver.address.province" in d.order.holds[0].detail


def test_channel_hold_blocks_then_lifts() -> None:
    forbid = (Hold("platform_forbid_consign", "", HoldSource.CHANNEL),)
    r = Runner()
    r.feed(update(OrderStatus.PAID, 1, paid=True, holds=forbid, channel_status="PAID_FORBID_CONSIGN"))
    assert not r.commands
    d = r.feed(update(OrderStatus.PAID, 5, paid=True))
    assert d.order is not None and not d.order.holds and len(r.commands) == 1


def test_is_newer_uses_time_then_rank() -> None:
    a = update(OrderStatus.PENDING_PAYMENT, 1)
    assert is_newer(a, update(OrderStatus.PAID, 1))
    assert not is_newer(a, update(OrderStatus.PENDING_PAYMENT, 1))
    assert is_newer(update(OrderStatus.PAID, 1), update(OrderStatus.PENDING_PAYMENT, 2)) is not False


# ------------------------------------------------------------------ property: convergence


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Order | Payment], str]:
    """One order's true platform history and payments, by how it ends."""
    fate = draw(st.sampled_from(["paid", "paid_by_channel_only", "cancelled", "unpaid"]))
    items: list[Order | Payment] = [update(OrderStatus.PENDING_PAYMENT, 0)]
    if fate == "paid":
        items += [payment("p1"), update(OrderStatus.PAID, 2, paid=True)]
        if draw(st.booleans()):
            items.append(update(OrderStatus.PAID, 4, paid=True, memo="加急"))
        if draw(st.booleans()):
            items.append(payment("p2", minutes=1))
    elif fate == "paid_by_channel_only":
        items.append(update(OrderStatus.PAID, 2, paid=True))
    elif fate == "cancelled":
        items.append(update(OrderStatus.CANCELLED, 30))
    return items, fate


def material(order: Order) -> Order:
    """The state without the parts that depend on arrival order (version numbers)."""
    return replace(order, version=0, fulfillment=replace(order.fulfillment, command_id=""))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_any_permutation_and_duplication_converges_and_ships_once(data: st.DataObject) -> None:
    items, fate = data.draw(histories())
    finals = []
    for _ in range(3):
        dups = data.draw(st.lists(st.sampled_from(items), max_size=4))
        arrival = data.draw(st.permutations(items + dups))
        r = Runner()
        for item in arrival:
            r.feed(item)
        assert r.order is not None
        ships = [c for c in r.commands if c.type is CommandType.SHIP]
        if fate.startswith("paid"):
            assert len(ships) == 1, [c.command_id for c in ships]
            assert r.order.status is OrderStatus.PAID
            assert r.order.fulfillment.command_id == ships[0].command_id
            assert not any(c.type is CommandType.CANCEL_SHIPMENT for c in r.commands)
        else:
            assert ships == []
        versions = [e.version for e in r.events]
        assert versions == list(range(1, len(versions) + 1))  # one event per accepted change
        finals.append(material(r.order))
    assert finals[0] == finals[1] == finals[2]
