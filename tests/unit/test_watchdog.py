"""Unit: the stuck-order watchdog's decision (app/domain/watchdog.py) and its scan (app/operations/stuck.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import codec
from app.console.queries import stuck_reason, watchdog_ledger
from app.domain.identity import make_oli
from app.domain.model import (
    Address,
    CommandType,
    FulfillmentState,
    Hold,
    Line,
    Order,
    OrderStatus,
    Receiver,
    RefundStatus,
    StuckAlert,
    WmsEvent,
    WmsEventType,
)
from app.domain.transitions import RoutingDefaults, apply_payment, apply_wms_event
from app.domain.watchdog import (
    STUCK_ALERT,
    WatchAction,
    WatchdogPolicy,
    WatchdogTick,
    apply_tick,
    assess,
)
from app.operations.stuck import may_be_watched, scan

T0 = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
SLA = timedelta(seconds=60)
POLICY = WatchdogPolicy(stuck_after=SLA, max_recommands=3)
ROUTING = RoutingDefaults("WH-1", "SF")
OLI = make_oli("taobao", "shop1", "1001")
RECEIVER = Receiver("张三", "13800005678", Address(province="浙江省", city="杭州市", district="西湖区",
                                                 detail="三墩镇1号"))


def unpaid() -> Order:
    return Order(oli=OLI, version=1, channel="taobao", shop_id="shop1", external_id="1001",
                 status=OrderStatus.PENDING_PAYMENT, channel_status="WAIT_BUYER_PAY", updated_at=T0,
                 receiver=RECEIVER, lines=(Line("1", "sku-1", quantity=1, unit_price=100, amount=100),),
                 created_at=T0)


def commanded(at: datetime = T0) -> Order:
    """A paid order whose SHIP command was sent at `at` (through the real payment transition)."""
    from app.domain.model import Payment

    decision = apply_payment(unpaid(), Payment("p1", "taobao", "shop1", "1001", 100, "CNY", at), (), at, ROUTING)
    assert decision.order is not None and len(decision.commands) == 1
    return decision.order


def after(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(order: Order, now: datetime) -> tuple[Order, object]:
    decision = apply_tick(order, now, POLICY, ROUTING)
    return (decision.order or order), decision


# ------------------------------------------------------------------ assess


def test_the_first_command_records_when_it_was_sent() -> None:
    f = commanded().fulfillment
    assert f.state is FulfillmentState.REQUESTED and f.requested_at == T0 and f.recommands == 0
    assert f.next_check_at is None and f.stuck_alerted_at is None


def test_within_the_sla_nothing_is_due_and_the_due_time_is_the_sla() -> None:
    verdict = assess(commanded(), after(59.9), POLICY)
    assert verdict.action is WatchAction.NONE and verdict.due_at == after(60) and not verdict.overdue


def test_past_the_sla_an_unacknowledged_command_is_sent_again() -> None:
    verdict = assess(commanded(), after(60), POLICY)
    assert verdict.action is WatchAction.RECOMMAND and verdict.overdue


@pytest.mark.parametrize("event", [WmsEventType.ACCEPTED, WmsEventType.PICKED, WmsEventType.SHIPPED,
                                   WmsEventType.REJECTED])
def test_any_warehouse_answer_ends_the_watch(event: WmsEventType) -> None:
    order = commanded()
    d = apply_wms_event(order, WmsEvent(order.fulfillment.command_id, OLI, event, after(5)), after(5), ROUTING)
    assert d.order is not None
    assert assess(d.order, after(10_000), POLICY).action is WatchAction.NONE


@pytest.mark.parametrize("change", [
    {"holds": (Hold("operator_hold"),)},
    {"shadow": True},
    {"refund_status": RefundStatus.REQUESTED},
    {"status": OrderStatus.SHIPPED},
    {"status": OrderStatus.CLOSED},
])
def test_held_shadow_refunding_or_finished_orders_are_not_watched(change: dict) -> None:
    order = replace(commanded(), **change)
    assert assess(order, after(10_000), POLICY) == assess(order, after(10_000), POLICY)
    assert assess(order, after(10_000), POLICY).action is WatchAction.NONE


def test_a_paid_order_that_never_got_its_command_is_routed_after_the_sla() -> None:
    lost = replace(commanded(), fulfillment=replace(commanded().fulfillment, state=FulfillmentState.NONE,
                                                   command_id="", requested_at=None), paid_at=T0)
    assert assess(lost, after(30), POLICY).action is WatchAction.NONE
    assert assess(lost, after(60), POLICY).action is WatchAction.COMMAND
    decision = apply_tick(lost, after(60), POLICY, ROUTING)
    assert decision.order is not None and [c.type for c in decision.commands] == [CommandType.SHIP]
    command = decision.commands[0]
    assert command.command_id == lost.versioned_id and command.attempt == 1  # the state that decided it
    assert decision.order.fulfillment.requested_at == after(60)
    assert [e.type for e in decision.events] == ["FulfillmentRequested"]


def test_a_lost_paid_order_that_is_held_is_left_to_the_operator() -> None:
    lost = replace(commanded(), fulfillment=replace(commanded().fulfillment, state=FulfillmentState.NONE),
                   holds=(Hold("address_invalid"),))
    assert assess(lost, after(10_000), POLICY).action is WatchAction.NONE


def test_orders_stored_before_the_watchdog_existed_count_from_payment() -> None:
    order = commanded()
    old = replace(order, paid_at=T0, fulfillment=replace(order.fulfillment, requested_at=None))
    assert assess(old, after(59), POLICY).action is WatchAction.NONE
    assert assess(old, after(60), POLICY).action is WatchAction.RECOMMAND


# ------------------------------------------------------------------ the whole ladder


def test_resends_with_the_same_command_id_and_doubling_waits_then_one_alert() -> None:
    order = commanded()
    command_id = order.fulfillment.command_id
    sends_at = []
    now = T0
    alerts: list[StuckAlert] = []
    for _ in range(20_000):  # one tick per second until nothing more happens
        now += timedelta(seconds=1)
        order, decision = run(order, now)
        for command in decision.commands:  # type: ignore[attr-defined]
            assert command.command_id == command_id and command.type is CommandType.SHIP
            assert command.version == int(command_id.rpartition("@")[2])
            assert command.attempt == len(sends_at) + 2
            assert command.receiver == order.receiver and command.warehouse == "WH-1"
            sends_at.append((now - T0).total_seconds())
        alerts += decision.alerts  # type: ignore[attr-defined]
        assert not decision.events  # type: ignore[attr-defined]  # bookkeeping: no new version
        assert order.version == commanded().version
    assert sends_at == [60, 180, 420]  # waits 60, 120, 240 after the first, second, third send
    assert len(alerts) == 1
    alert = alerts[0]
    assert isinstance(alert, StuckAlert) and alert.kind == STUCK_ALERT and alert.oli == OLI
    assert alert.command_id == command_id and alert.attempts == 4
    assert alert.at == after(900) == T0 + POLICY.alert_after
    assert order.fulfillment.stuck_alerted_at == after(900) and order.fulfillment.recommands == 3
    assert orjson.loads(codec.encode(alert))["attempts"] == 4


@given(max_recommands=st.integers(0, 6), sla=st.integers(1, 600))
def test_the_alert_comes_after_exactly_max_recommands_resends(max_recommands: int, sla: int) -> None:
    policy = WatchdogPolicy(stuck_after=timedelta(seconds=sla), max_recommands=max_recommands)
    order, resends, alerts = commanded(), 0, 0
    now = T0
    while True:
        due = assess(order, now, policy).due_at
        if due is None:
            break
        now = max(now, due)
        decision = apply_tick(order, now, policy, ROUTING)
        resends += len(decision.commands)
        alerts += len(decision.alerts)
        order = decision.order or order
    assert (resends, alerts) == (max_recommands, 1)
    assert now - T0 == policy.alert_after == timedelta(seconds=sla * (2 ** (max_recommands + 1) - 1))


def test_an_acknowledgement_between_resends_stops_the_ladder() -> None:
    order, _ = run(commanded(), after(60))
    assert order.fulfillment.recommands == 1 and order.fulfillment.next_check_at == after(180)
    ack = WmsEvent(order.fulfillment.command_id, OLI, WmsEventType.ACCEPTED, after(70))
    acked = apply_wms_event(order, ack, after(70), ROUTING).order
    assert acked is not None and acked.fulfillment.state is FulfillmentState.ACCEPTED
    assert apply_tick(acked, after(10_000), POLICY, ROUTING).changed is False


def test_a_repeated_or_early_tick_changes_nothing() -> None:
    order, first = run(commanded(), after(60))
    assert first.commands  # type: ignore[attr-defined]
    _, again = run(order, after(61))  # a second tick for the same due time, e.g. from the previous owner
    assert not again.changed and not again.commands  # type: ignore[attr-defined]


def test_after_the_alert_no_owner_raises_it_again() -> None:
    order = commanded()
    alerted = replace(order, fulfillment=replace(order.fulfillment, recommands=3, stuck_alerted_at=after(900)))
    stored = codec.decode_order(codec.encode(alerted))  # as a new owner reads it from the changelog
    assert stored == alerted
    verdict = assess(stored, after(100_000), POLICY)
    assert verdict.action is WatchAction.NONE and verdict.alerted and verdict.overdue
    assert not apply_tick(stored, after(100_000), POLICY, ROUTING).changed


def test_zero_recommands_alerts_at_the_sla() -> None:
    policy = WatchdogPolicy(stuck_after=SLA, max_recommands=0)
    decision = apply_tick(commanded(), after(60), policy, ROUTING)
    assert not decision.commands and [a.kind for a in decision.alerts] == [STUCK_ALERT]


def test_a_tick_for_an_order_this_worker_does_not_have_changes_nothing() -> None:
    assert not apply_tick(None, after(60), POLICY, ROUTING).changed


def test_a_tick_round_trips_through_the_order_inputs_codec() -> None:
    tick = WatchdogTick(OLI, after(5))
    assert codec.decode_order_input(codec.encode_watchdog_tick(tick)) == tick


# ------------------------------------------------------------------ scan and the stuck list


def test_the_byte_filter_never_skips_an_order_the_watchdog_acts_on() -> None:
    lost = replace(commanded(), fulfillment=replace(commanded().fulfillment, state=FulfillmentState.NONE))
    for order in (commanded(), lost):
        assert may_be_watched(codec.encode(order))
    acked = replace(commanded(), fulfillment=replace(commanded().fulfillment, state=FulfillmentState.ACCEPTED))
    assert not may_be_watched(codec.encode(acked)) and not may_be_watched(codec.encode(unpaid()))
    tricky = replace(commanded(), external_id='x"status":"SHIPPED"', seller_memo='"state":"SHIPPED"',
                     parcels=(('"state":"SHIPPED"',),), receiver=replace(RECEIVER, name='"state":"NONE"'))
    assert may_be_watched(codec.encode(tricky))
    assert not may_be_watched(codec.encode(replace(tricky, status=OrderStatus.SHIPPED)))


def test_the_order_json_has_one_state_key_and_status_comes_first() -> None:
    """What `may_be_watched` relies on: a new field named `state` or `status` must update it."""
    blob = codec.encode(commanded())
    assert blob.count(b'"state":') == 1 and blob.find(b'"status":') < blob.find(b'"channel_status":')


def test_scan_finds_due_orders_and_counts_raised_ones() -> None:
    due = commanded()
    fresh = commanded(after(100))
    alerted = replace(due, oli="tb-shop1-2", fulfillment=replace(due.fulfillment, stuck_alerted_at=after(900)))
    acked = replace(due, oli="tb-shop1-3", fulfillment=replace(due.fulfillment, state=FulfillmentState.SHIPPED))
    items = [(o.oli.encode(), codec.encode(o)) for o in (due, fresh, alerted, acked)]
    result = scan(items, after(120), POLICY)
    assert result.due == [(OLI, after(60))] and result.alerted == 1 and result.overdue == 2 and result.scanned == 4
    assert result.decoded == 3


def test_stuck_list_uses_the_watchdog_notion() -> None:
    order = commanded()
    assert stuck_reason(order, after(59), SLA) == ""
    assert stuck_reason(order, after(60), SLA) == "not acknowledged by the warehouse"
    resent, _ = run(order, after(60))
    assert stuck_reason(resent, after(61), SLA) == "not acknowledged by the warehouse"
    alerted = replace(resent, fulfillment=replace(resent.fulfillment, stuck_alerted_at=after(900)))
    assert stuck_reason(alerted, after(901), SLA).startswith("raised as stuck")
    ledger = watchdog_ledger(alerted)
    assert ledger["attempts"] == 2 and ledger["recommands"] == 1 and ledger["alerted"] is True
    assert ledger["command_id"] == order.fulfillment.command_id
    held = replace(order, holds=(Hold("operator_hold"),), paid_at=T0)
    assert stuck_reason(held, after(60), SLA) == "held: operator_hold"
