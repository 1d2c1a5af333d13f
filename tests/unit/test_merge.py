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
