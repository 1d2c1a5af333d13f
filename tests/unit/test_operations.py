"""Unit: operator commands, the approval policy and the audit entries they produce (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from app.domain import approvals as ap
from app.domain.commands import OpsCommand, check_against, parse_request
from app.domain.errors import ValidationError
from app.domain.identity import make_oli
from app.domain.model import (
    Address,
    Amounts,
    CommandType,
    FulfillmentState,
    Line,
    Order,
    OrderStatus,
    Receiver,
    WmsEvent,
    WmsEventType,
)
from app.domain.operations import apply_command
from app.domain.transitions import RoutingDefaults, apply_channel_update, apply_wms_event

T0 = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 11, 3, 0, tzinfo=UTC)
ROUTING = RoutingDefaults("WH-1", "SF")
OLI = make_oli("taobao", "shop1", "1001")
POLICY = ap.ApprovalPolicy.default()


def paid_order(total: int = 19800) -> Order:
    """A paid order whose SHIP went out (fulfillment REQUESTED), as the router leaves it."""
    incoming = Order(
        oli=OLI, version=0, channel="taobao", shop_id="shop1", external_id="1001", status=OrderStatus.PAID,
        channel_status="WAIT_SELLER_SEND_GOODS", updated_at=T0, created_at=T0, paid_at=T0,
        receiver=Receiver("张三", "13800000000", Address(province="浙江省", city="杭州市", detail="文三路1号")),
        lines=(Line("1", "sku-1"), Line("2", "sku-2")), amounts=Amounts(total=total, paid=total))
    decision = apply_channel_update(None, incoming, (), T0, ROUTING)
    assert decision.order is not None and decision.commands
    return decision.order


def cmd(action: str, actor: str = "olga", *, params: dict | None = None, rid: str = "r1", **kw) -> OpsCommand:
    return OpsCommand(request_id=rid, oli=OLI, action=action, actor=actor, role="operator", at=NOW,
                      params=params or {}, **kw)


def parse(body: object) -> OpsCommand:
    return parse_request(body, oli=OLI, request_id="r1", actor="olga", role="operator", at=NOW)


@pytest.mark.parametrize(("body", "field"), [
    ([], "body"),
    ({}, "command"),
    ({"command": "teleport"}, "command"),
    ({"command": "hold"}, "reason"),
    ({"command": "set_carrier", "params": {}}, "params.carrier"),
    ({"command": "set_carrier", "params": {"carrier": 5}}, "params.carrier"),
    ({"command": "change_address", "params": {"receiver": {"mobile": "1"}}}, "params.receiver.mobile"),
    ({"command": "change_address", "params": {"receiver": {"address": {"street": "x"}}}},
     "params.receiver.address.street"),
    ({"command": "split", "params": {"parcels": [["1"]]}}, "params.parcels"),
    ({"command": "release", "if_version": "3"}, "if_version"),
    ({"command": "release", "colour": "red"}, "colour"),
])
def test_bad_requests_name_the_field(body: object, field: str) -> None:
    with pytest.raises(ValidationError, match=field.replace(".", r"\.")):
        parse(body)


def test_stale_version_and_split_lines_are_checked_against_the_order() -> None:
    order = paid_order()
    with pytest.raises(ValidationError, match="version 2"):
        check_against(order, parse({"command": "release", "if_version": 1}))
    with pytest.raises(ValidationError, match="exactly one parcel"):
        check_against(order, parse({"command": "split", "params": {"parcels": [["1"], ["1"]]}}))
    with pytest.raises(ValidationError, match="no line '9'"):
        check_against(order, parse({"command": "split", "params": {"parcels": [["1"], ["9"]]}}))


def test_policy_levels() -> None:
    order = paid_order()
    assert POLICY.levels(order, cmd("hold")) == 0
    assert POLICY.levels(order, cmd("change_address")) == 1
    assert POLICY.levels(paid_order(total=500_000), cmd("change_address")) == 2
    assert POLICY.levels(order, cmd("cancel")) == 1
    unpaid = replace(order, status=OrderStatus.PENDING_PAYMENT, paid_at=None,
                     fulfillment=replace(order.fulfillment, state=FulfillmentState.NONE))
    assert POLICY.levels(unpaid, cmd("change_address")) == 0
    assert POLICY.levels(unpaid, cmd("cancel")) == 0
    assert POLICY.levels(unpaid, cmd("split", params={"parcels": [["1"], ["2"]]})) == 1
    custom = ap.ApprovalPolicy.from_dict({"rules": [{"actions": ["hold"], "when": "always"}],
                                          "second_level_above": 0})
    assert custom.levels(order, cmd("hold")) == 2 and custom.levels(order, cmd("cancel")) == 0
    with pytest.raises(ValidationError, match=r"rules\[0\]\.when"):
        ap.ApprovalPolicy.from_dict({"rules": [{"actions": ["hold"], "when": "sometimes"}]})


def test_hold_and_release_apply_at_once_and_are_audited() -> None:
    order = paid_order()
    held = apply_command(order, (), cmd("hold", reason="flood in city"), POLICY, NOW, ROUTING)
    assert held.outcome == "applied" and held.decision.order is not None
    assert [h.reason for h in held.decision.order.holds] == ["operator_hold"]
    assert held.audit[0].action == "command_applied" and held.audit[0].actor == "olga"
    assert held.audit[0].after == {"holds": ["operator_hold"]}
    released = apply_command(held.decision.order, (), cmd("release", rid="r2"), POLICY, NOW, ROUTING)
    assert released.decision.order is not None and released.decision.order.holds == ()


def _address_change(actor: str = "olga") -> OpsCommand:
    return cmd("change_address", actor, params={"receiver": {"address": {"detail": "文二路9号"}}},
               reason="buyer moved")


def test_two_level_approval_holds_then_applies_with_cancel_and_new_ship() -> None:
    order = paid_order(total=500_000)
    old_command = order.fulfillment.command_id
    asked = apply_command(order, (), _address_change(), POLICY, NOW, ROUTING)
    assert asked.outcome == "approval_pending" and not asked.decision.commands
    held = asked.decision.order
    assert held is not None and held.holds[-1].reason == "approval_pending"
    assert held.receiver.address.detail == "文三路1号"  # nothing applied yet
    (approval,) = asked.approvals or ()
    assert approval.levels == 2 and asked.audit[0].action == "approval_requested"

    def decide(order: Order, approvals: tuple, actor: str, action: str = "approve"):
        return apply_command(order, approvals, cmd(action, actor, rid=f"{action}-{actor}",
                                                   approval_id=approval.approval_id, reason="ok"),
                             POLICY, NOW, ROUTING)

    own = decide(held, asked.approvals, "olga")
    assert own.outcome == "approval_forbidden" and own.decision.order is None and own.approvals is None
    assert own.audit[0].action == "command_refused" and "requester" in own.audit[0].reason
    first = decide(held, asked.approvals, "amy")
    assert first.outcome == "approval_step" and first.decision.order is None
    twice = decide(held, first.approvals, "amy")
    assert twice.outcome == "approval_forbidden" and twice.approvals is None
    second = decide(held, first.approvals, "bob")
    assert second.outcome == "approved"
    final = second.decision.order
    assert final is not None and final.receiver.address.detail == "文二路9号"
    assert all(h.reason != "approval_pending" for h in final.holds)
    (cancel,) = second.decision.commands  # the new SHIP waits for the warehouse's answer
    assert (cancel.type, cancel.cancels) == (CommandType.CANCEL_SHIPMENT, old_command)
    assert final.fulfillment.state is FulfillmentState.CANCEL_REQUESTED
    intercepted = apply_wms_event(final, WmsEvent(cancel.command_id, OLI, WmsEventType.INTERCEPTED, NOW),
                                  NOW, ROUTING)
    (new_ship,) = intercepted.commands
    assert new_ship.type is CommandType.SHIP and new_ship.receiver.address.detail == "文二路9号"
    assert intercepted.order is not None and new_ship.command_id == intercepted.order.fulfillment.command_id
    assert [e.action for e in second.audit] == ["approval_granted", "command_applied"]
    assert second.audit[1].before["receiver"]["address"]["detail"] == "文三路1号"
    again = decide(final, second.approvals, "carl")
    assert again.outcome == "approval_refused" and "already approved" in again.audit[0].reason


def test_rejection_lifts_the_hold_and_changes_nothing_else() -> None:
    order = paid_order()
    asked = apply_command(order, (), _address_change(), POLICY, NOW, ROUTING)
    approval = (asked.approvals or ())[0]
    assert asked.decision.order is not None
    rejected = apply_command(asked.decision.order, asked.approvals,
                             cmd("reject", "amy", approval_id=approval.approval_id, reason="fraud"),
                             POLICY, NOW, ROUTING)
    after = rejected.decision.order
    assert after is not None and after.holds == () and after.receiver == order.receiver
    assert not rejected.decision.commands  # the SHIP already out stands
    assert rejected.audit[0].action == "approval_rejected"
    assert (rejected.approvals or ())[0].state is ap.ApprovalState.REJECTED


def test_refused_commands_change_nothing() -> None:
    order = paid_order()
    stale = apply_command(order, (), cmd("hold", reason="x", if_version=1), POLICY, NOW, ROUTING)
    assert stale.outcome == "stale_version" and stale.decision.order is None
    assert stale.audit[0].action == "command_refused"
    missing = apply_command(None, (), cmd("hold", reason="x"), POLICY, NOW, ROUTING)
    assert missing.decision.order is None and "not found" in missing.audit[0].reason


def test_cancel_of_unpaid_order_needs_no_approval() -> None:
    order = paid_order()
    unpaid = replace(order, status=OrderStatus.PENDING_PAYMENT, paid_at=None, payment_ids=(),
                     fulfillment=replace(order.fulfillment, state=FulfillmentState.NONE, command_id=""))
    out = apply_command(unpaid, (), cmd("cancel", reason="buyer asked"), POLICY, NOW, ROUTING)
    assert out.decision.order is not None and out.decision.order.status is OrderStatus.CANCELLED


class _ByProvince:
    """A router whose carrier depends on the province: routing must run again after a move."""

    def decide(self, order: Order):  # type: ignore[no-untyped-def]
        from app.domain.transitions import RoutingOutcome

        carrier = "JD" if order.receiver.address.province == "北京市" else "SF"
        return RoutingOutcome(carrier=carrier, warehouse="WH-" + carrier)


def test_an_approved_move_routes_again_with_the_rules() -> None:
    order = paid_order()
    assert order.fulfillment.carrier == "SF"
    move = cmd("change_address", params={"receiver": {"address": {"province": "北京市", "city": "北京市"}}},
               reason="moved")
    asked = apply_command(order, (), move, POLICY, NOW, _ByProvince())
    approval = (asked.approvals or ())[0]
    done = apply_command(asked.decision.order, asked.approvals, cmd("approve", "amy", approval_id=approval.approval_id),
                         POLICY, NOW, _ByProvince())
    (cancel,) = done.decision.commands
    assert (cancel.type, cancel.carrier) == (CommandType.CANCEL_SHIPMENT, "SF")
    assert done.decision.order is not None
    (ship,) = apply_wms_event(done.decision.order, WmsEvent(cancel.command_id, OLI, WmsEventType.INTERCEPTED, NOW),
                              NOW, _ByProvince()).commands
    assert (ship.type, ship.carrier, ship.warehouse) == (CommandType.SHIP, "JD", "WH-JD")


def _approve_all(out, router):  # type: ignore[no-untyped-def]
    """Approve the pending approval of `out` until it applies; the applying decision."""
    order, approvals = out.decision.order, out.approvals
    approval_id = ap.pending(approvals or ())[0].approval_id
    for actor in ("amy", "bob"):
        out = apply_command(order, approvals, cmd("approve", actor, rid=f"a-{actor}", approval_id=approval_id,
                                                  reason="ok"), POLICY, NOW, router)
        if out.outcome != "approval_step":
            return out
        approvals = out.approvals
    raise AssertionError("not approved")


class _RequiresApproval:
    """A router whose rule asks for approval of every order (`require_approval`)."""

    def decide(self, order: Order):  # type: ignore[no-untyped-def]
        from app.domain.model import Hold
        from app.domain.transitions import RoutingOutcome

        return RoutingOutcome(carrier="SF", warehouse="WH-1", holds=(
            Hold("approval_required", "big order (rule big v1)"), Hold("fragile", "rule glass v2")))


def test_a_released_rule_approval_does_not_come_back() -> None:
    order = paid_order()
    unshipped = replace(order, fulfillment=replace(order.fulfillment, state=FulfillmentState.NONE, command_id=""))
    held = apply_channel_update(None, replace(unshipped, version=0, fulfillment=unshipped.fulfillment), (), T0,
                                _RequiresApproval()).order
    assert held is not None and [h.reason for h in held.holds] == ["approval_required", "fragile"]
    released = apply_command(held, (), cmd("release", reason="checked"), POLICY, NOW, _RequiresApproval())
    after = released.decision.order
    assert after is not None and after.holds == () and set(after.released) == {"approval_required", "fragile"}
    (ship,) = released.decision.commands
    assert ship.type is CommandType.SHIP
    # a later channel update routes again: the released rule holds stay off, address problems do not
    newer = replace(after, updated_at=NOW, seller_memo="gift wrap")
    again = apply_channel_update(after, newer, (), NOW, _RequiresApproval())
    assert again.order is not None and again.order.holds == ()


def test_an_approved_address_change_keeps_the_carrier_an_operator_set() -> None:
    order = paid_order()
    carrier = _approve_all(apply_command(order, (), cmd("set_carrier", params={"carrier": "EMS"}, rid="c1"),
                                         POLICY, NOW, _ByProvince()), _ByProvince())
    with_ems = carrier.decision.order
    assert with_ems is not None and with_ems.chosen_carrier == "EMS"
    intercepted = apply_wms_event(with_ems, WmsEvent(with_ems.fulfillment.cancel_command_id, OLI,
                                                     WmsEventType.INTERCEPTED, NOW), NOW, _ByProvince())
    assert intercepted.order is not None and intercepted.commands[0].carrier == "EMS"
    move = cmd("change_address", params={"receiver": {"address": {"province": "北京市", "city": "北京市"}}},
               reason="moved", rid="m1")
    moved = _approve_all(apply_command(intercepted.order, (), move, POLICY, NOW, _ByProvince()), _ByProvince())
    assert moved.decision.order is not None
    (ship,) = apply_wms_event(moved.decision.order, WmsEvent(moved.decision.order.fulfillment.cancel_command_id,
                                                             OLI, WmsEventType.INTERCEPTED, NOW),
                              NOW, _ByProvince()).commands
    assert (ship.carrier, ship.warehouse) == ("EMS", "WH-JD")  # the operator's carrier, routing's warehouse


def test_cancel_and_reship_waits_for_the_warehouse_and_too_late_holds() -> None:
    order = paid_order()
    move = _approve_all(apply_command(order, (), _address_change(), POLICY, NOW, ROUTING), ROUTING)
    waiting = move.decision.order
    assert waiting is not None and [c.type for c in move.decision.commands] == [CommandType.CANCEL_SHIPMENT]
    cancel_id = waiting.fulfillment.cancel_command_id
    too_late = apply_wms_event(waiting, WmsEvent(cancel_id, OLI, WmsEventType.TOO_LATE, NOW), NOW, ROUTING)
    assert too_late.commands == () and [a.kind for a in too_late.alerts] == ["intercept_too_late"]
    assert too_late.order is not None and too_late.order.holds[-1].reason == "intercept_too_late"
    assert too_late.order.fulfillment.state is FulfillmentState.TOO_LATE
    # a cancelled order whose intercept is too late gets the alert, not a hold
    gone = replace(waiting, status=OrderStatus.CLOSED)
    closed = apply_wms_event(gone, WmsEvent(cancel_id, OLI, WmsEventType.TOO_LATE, NOW), NOW, ROUTING)
    assert closed.order is not None and closed.order.holds == () and closed.commands == ()
