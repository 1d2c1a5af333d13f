"""Unit: merge candidates (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.domain.merge import MergePolicy, candidates, ineligible, merge_key
from app.domain.model import Buyer, Fulfillment, FulfillmentState, Hold, OrderStatus
from tests.unit.test_operations import NOW, T0, paid_order


def _order(oli: str, hours: float = 0, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("fulfillment", Fulfillment())
    return replace(paid_order(), oli=oli, buyer=Buyer("b1", "nick"), paid_at=T0 + timedelta(hours=hours), **kw)


def test_same_shop_buyer_and_address_within_the_window_are_proposed_together() -> None:
    a, b = _order("tb-s-1"), _order("tb-s-2", hours=0.5)
    far = _order("tb-s-3", hours=-30)
    other_buyer = replace(_order("tb-s-4"), buyer=Buyer("b2", "x"))
    assert candidates([a, b, far, other_buyer], MergePolicy(), NOW) == [["tb-s-1", "tb-s-2"]]
    spaced = replace(b.receiver.address, detail=" 文三路 1号 ")
    assert merge_key(replace(b, receiver=replace(b.receiver, address=spaced)), MergePolicy()) == merge_key(
        a, MergePolicy())


def test_cod_held_presale_and_commanded_orders_never_merge() -> None:
    policy = MergePolicy()
    assert ineligible(_order("x", tags=("COD",)), policy) == "cash on delivery"
    assert ineligible(_order("x", holds=(Hold("operator_hold"),)), policy) == "held"
    assert ineligible(_order("x", tags=("presale",)), policy) == "presale"
    assert ineligible(_order("x", tags=("presale",)), MergePolicy(allow_presale=True)) == ""
    sent = _order("x", fulfillment=Fulfillment(state=FulfillmentState.REQUESTED))
    assert ineligible(sent, policy) == "already commanded"
    assert ineligible(_order("x", status=OrderStatus.PENDING_PAYMENT), policy) == "not paid"
    assert candidates([_order("a"), _order("b", tags=("cod",))], policy, NOW) == []


def test_optional_same_carrier_splits_groups() -> None:
    a = _order("a", fulfillment=Fulfillment(carrier="SF"))
    b = _order("b", fulfillment=Fulfillment(carrier="YTO"))
    assert candidates([a, b], MergePolicy(), NOW) == [["a", "b"]]
    assert candidates([a, b], MergePolicy(same_carrier=True), NOW) == []


# ------------------------------------------------------------------ the flow, pure: orders ↔ group

from app.domain import merge_groups as mg  # noqa: E402
from app.domain.commands import OpsCommand  # noqa: E402
from app.domain.merge import MergePolicy as Policy  # noqa: E402
from app.domain.merge_orders import MergeWaitRouter, notices, refusal_notice  # noqa: E402
from app.domain.model import CommandType, MergedPart, WmsEvent, WmsEventType  # noqa: E402
from app.domain.operations import apply_command  # noqa: E402
from app.domain.transitions import RoutingDefaults, apply_channel_update, apply_wms_event  # noqa: E402
from tests.unit.test_operations import POLICY as APPROVALS  # noqa: E402

WAIT = Policy(wait=timedelta(minutes=30))
ROUTER = MergeWaitRouter(RoutingDefaults("WH-1", "SF"), WAIT)


class Flow:
    """Orders, one group, and the notices and commands between them, applied in order."""

    def __init__(self, policy: Policy = WAIT) -> None:
        self.policy = policy
        self.router = MergeWaitRouter(RoutingDefaults("WH-1", "SF"), policy)
        self.orders: dict = {}
        self.group: mg.Group | None = None
        self.key = ""
        self.ships: list = []

    def arrive(self, oli: str, hours: float = 0, **kw) -> None:  # type: ignore[no-untyped-def]
        incoming = replace(_order(oli, hours, **kw), version=0)
        d = apply_channel_update(None, incoming, (), NOW, self.router)
        self._after(None, d)

    def _after(self, before, decision) -> None:  # type: ignore[no-untyped-def]
        if decision.order is None:
            return
        self.orders[decision.order.oli] = decision.order
        self.ships += [c for c in decision.commands]
        for key, notice in notices(before, decision.order, NOW):
            self.notify(key, notice)

    def notify(self, key: str, notice: dict, now=NOW) -> None:  # type: ignore[no-untyped-def]
        self.key = key
        self.group, commands = mg.step(self.group, key, notice, self.policy, now)
        for command in commands:
            self.command(command)

    def command(self, command: OpsCommand) -> None:
        before = self.orders[command.oli]
        out = apply_command(before, (), command, APPROVALS, NOW, self.router)
        if out.decision.order is None:
            for key, notice in refusal_notice(command):
                self.notify(key, notice)
        self._after(before, out.decision)

    def wms(self, oli: str, command_id: str, event: WmsEventType) -> None:
        before = self.orders[oli]
        self._after(before, apply_wms_event(before, WmsEvent(command_id, oli, event, NOW), NOW, self.router))


def test_two_orders_of_one_buyer_wait_merge_into_one_ship_and_undo_gives_two() -> None:
    flow = Flow()
    flow.arrive("tb-s-1")
    flow.arrive("tb-s-2", hours=0.2)
    assert flow.ships == []  # both wait for their group
    assert flow.group is not None and [m.oli for m in flow.group.mergeable(WAIT)] == ["tb-s-1", "tb-s-2"]
    flow.notify(flow.key, {"type": "accept", "actor": "olga", "role": "operator", "request_id": "req-1"})
    (ship,) = flow.ships
    assert ship.oli == "tb-s-1" and ship.merged == (MergedPart("tb-s-2", "1001", _order("x").lines),)
    secondary = flow.orders["tb-s-2"]
    assert [h.reason for h in secondary.holds] == ["merged_into"] and secondary.holds[0].detail == "tb-s-1"
    assert flow.group is not None and flow.group.run is not None and flow.group.run.state == "merged"

    flow.notify(flow.key, {"type": "undo", "actor": "olga", "role": "operator"})
    cancel = flow.ships[-1]
    assert cancel.type is CommandType.CANCEL_SHIPMENT and cancel.merged == ship.merged
    assert len(flow.ships) == 2  # nothing ships until the warehouse stopped the merged parcel
    flow.wms("tb-s-1", cancel.command_id, WmsEventType.INTERCEPTED)
    alone = [(c.oli, c.type, c.merged) for c in flow.ships[2:]]
    assert alone == [("tb-s-1", CommandType.SHIP, ()), ("tb-s-2", CommandType.SHIP, ())]
    assert flow.group is None


def test_the_primary_parcel_shipping_ships_the_merged_orders() -> None:
    flow = Flow()
    flow.arrive("tb-s-1")
    flow.arrive("tb-s-2", hours=0.1)
    flow.notify(flow.key, {"type": "accept", "actor": "olga", "role": "operator"})
    (ship,) = flow.ships
    flow.wms("tb-s-1", ship.command_id, WmsEventType.SHIPPED)
    assert flow.orders["tb-s-2"].status is OrderStatus.SHIPPED and flow.orders["tb-s-2"].holds == ()
    assert flow.orders["tb-s-2"].fulfillment.command_id == ship.command_id and flow.group is None
    # too late to undo now
    assert len(flow.ships) == 1


def test_cod_never_waits_and_a_lone_order_ships_when_the_wait_is_over() -> None:
    flow = Flow()
    flow.arrive("tb-s-9", tags=("COD",))
    assert [c.oli for c in flow.ships] == ["tb-s-9"]  # not delayed by the merge wait
    flow.arrive("tb-s-1")
    assert len(flow.ships) == 1 and flow.group is not None
    flow.notify(flow.key, {"type": "tick"}, now=NOW + timedelta(minutes=29))
    assert len(flow.ships) == 1
    flow.notify(flow.key, {"type": "tick"}, now=NOW + timedelta(minutes=31))
    assert [c.oli for c in flow.ships] == ["tb-s-9", "tb-s-1"] and flow.group is None
    assert "merge_wait" in flow.orders["tb-s-1"].released


def test_auto_accept_merges_at_the_end_of_the_wait_and_off_by_default() -> None:
    flow = Flow(Policy(wait=timedelta(minutes=5), auto_accept=True))
    flow.arrive("tb-s-1")
    flow.arrive("tb-s-2", hours=0.01)
    flow.notify(flow.key, {"type": "tick"}, now=NOW + timedelta(minutes=6))
    (ship,) = flow.ships
    assert [m.oli for m in ship.merged] == ["tb-s-2"]
    off = Flow(Policy())
    off.arrive("tb-s-1")
    off.arrive("tb-s-2")
    assert len(off.ships) == 2 and off.group is None


def test_a_member_released_meanwhile_is_left_out_and_the_other_ships_alone() -> None:
    flow = Flow()
    flow.arrive("tb-s-1")
    flow.arrive("tb-s-2", hours=0.1)
    flow.arrive("tb-s-3", hours=0.2)
    # tb-s-2 is released by an operator before its merge_into arrives
    group, commands = mg.step(flow.group, flow.key, {"type": "accept", "actor": "olga", "role": "operator"},
                              WAIT, NOW)
    flow.group = group
    released = apply_command(flow.orders["tb-s-2"], (), OpsCommand("r9", "tb-s-2", "release", "olga", "operator",
                                                                  NOW, reason="ship now"), APPROVALS, NOW, ROUTER)
    flow._after(flow.orders["tb-s-2"], released.decision)
    for command in commands:
        flow.command(command)
    merged = [c for c in flow.ships if c.merged]
    assert [(c.oli, [m.oli for m in c.merged]) for c in merged] == [("tb-s-1", ["tb-s-3"])]
    assert sorted(c.oli for c in flow.ships) == ["tb-s-1", "tb-s-2"]


def test_merge_policy_file() -> None:
    import pytest

    from app.domain.errors import ValidationError

    policy = Policy.from_dict({"wait_minutes": 30, "window_hours": 2, "same_carrier": True})
    assert policy.enabled and policy.wait == timedelta(minutes=30) and policy.same_carrier
    assert not Policy.from_dict(None).enabled
    for bad, field in (({"wait": 1}, "wait"), ({"wait_minutes": -1}, "wait_minutes"),
                       ({"auto_accept": "yes"}, "auto_accept"), ([], "mapping")):
        with pytest.raises(ValidationError, match=field):
            Policy.from_dict(bad)


def _member(oli: str, minutes: int = 0, **kw) -> dict:  # type: ignore[no-untyped-def]
    at = (T0 + timedelta(minutes=minutes)).isoformat()
    return {"type": "waiting", "member": {"oli": oli, "external_id": oli, "paid_at": at, "since": NOW.isoformat(),
                                          "lines": [], **kw}}


def _steps(*notices_: dict, policy: Policy = WAIT, now=NOW):  # type: ignore[no-untyped-def]
    group, sent = None, []
    for notice in notices_:
        group, commands = mg.step(group, "k", notice, policy, now)
        sent += [(c.action, c.oli) for c in commands]
    return group, sent


def test_group_edges_primary_refuses_late_undo_and_the_window() -> None:
    accept = {"type": "accept", "actor": "olga", "role": "operator", "request_id": "req-1"}
    # the primary no longer waits when its merge comes: the joined order ships alone
    group, sent = _steps(_member("a"), _member("b", 5), accept, {"type": "joined", "oli": "b"},
                         {"type": "refused", "oli": "a"})
    assert sent == [("merge_into", "b"), ("merge", "a"), ("end_merge", "b")] and group is None
    # undo that comes too late: the merge stands, and a second undo is refused by the group
    group, sent = _steps(_member("a"), _member("b", 5), accept, {"type": "joined", "oli": "b"},
                         {"type": "merged", "oli": "a"}, {"type": "undo"}, {"type": "unmerge_failed", "oli": "a"})
    assert sent[-1] == ("unmerge", "a") and group is not None and group.run is not None
    assert group.run.state == "merged" and "too late" in group.note
    # outside the window: nothing to merge, accept does nothing
    group, sent = _steps(_member("a"), _member("b", 25 * 60), accept)
    assert sent == [] and group is not None and group.run is None and "fewer than two" in group.note
    # a second accept while merging does nothing
    group, sent = _steps(_member("a"), _member("b", 5), accept, accept)
    assert sent == [("merge_into", "b")]


def test_a_rule_merge_on_every_member_merges_at_the_end_of_the_wait() -> None:
    later = NOW + timedelta(minutes=31)
    group, sent = _steps(_member("a", auto=True), _member("b", 5, auto=True), {"type": "tick"}, now=later)
    assert sent == [("merge_into", "b")] and group is not None and group.run is not None
    assert group.run.actor == mg.SYSTEM_ACTOR
    group, sent = _steps(_member("a", auto=True), _member("b", 5), {"type": "tick"}, now=later)
    assert sorted(sent) == [("end_merge", "a"), ("end_merge", "b")] and group is None


def test_orders_waiting_behind_a_running_merge_still_ship_when_their_wait_is_over() -> None:
    accept = {"type": "accept", "actor": "olga", "role": "operator"}
    group, _ = _steps(_member("a"), _member("b", 5), accept, {"type": "joined", "oli": "b"},
                      {"type": "merged", "oli": "a"})
    group, commands = mg.step(group, "k", _member("c", 10), WAIT, NOW)
    group, commands = mg.step(group, "k", {"type": "tick"}, WAIT, NOW + timedelta(minutes=31))
    assert [(c.action, c.oli) for c in commands] == [("end_merge", "c")]
    assert group is not None and group.run is not None and group.run.state == "merged"
    view = mg.view(group, WAIT)
    assert view["merge"]["primary"] == "a" and {m["oli"] for m in view["members"]} == {"a", "b"}


def test_a_held_or_readdressed_waiting_order_leaves_its_group() -> None:
    flow = Flow()
    flow.arrive("tb-s-1")
    flow.arrive("tb-s-2", hours=0.1)
    held = apply_command(flow.orders["tb-s-2"], (), OpsCommand("h1", "tb-s-2", "hold", "olga", "operator", NOW,
                                                              reason="check stock"), APPROVALS, NOW, ROUTER)
    flow._after(flow.orders["tb-s-2"], held.decision)
    assert flow.group is not None and [m.oli for m in flow.group.members] == ["tb-s-1"]
    # the platform changes the address of a waiting order: it waits again, in the group of its new address
    before = flow.orders["tb-s-1"]
    moved = replace(before, updated_at=NOW, holds=(), receiver=replace(before.receiver, address=replace(
        before.receiver.address, detail="文二路9号")))
    decision = apply_channel_update(before, moved, (), NOW, ROUTER)
    assert decision.order is not None and decision.order.holds[0].reason == "merge_wait"
    new_key, old_key = decision.order.holds[0].detail, before.holds[0].detail
    assert [(k, n["type"]) for k, n in notices(before, decision.order, NOW)] == [
        (new_key, "waiting"), (old_key, "gone")] and new_key != old_key
    assert decision.commands == ()
