"""Taobao/Tmall adapter: golden fixtures → SOM, error cases, conversions (pure, sync)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.channels import Adapter, AdapterRegistry, TaobaoAdapter, default_registry
from app.channels.convert import (
    epoch_millis,
    epoch_seconds,
    fen,
    optional_yuan_to_fen,
    shanghai_time,
    yuan_to_fen,
)
from app.channels.taobao import REFUND_TABLE, STATUS_TABLE, aggregate_refund
from app.domain.errors import AdapterError, UnknownChannelError, UnknownStatusError
from app.domain.identity import make_oli
from app.domain.model import HoldSource, Order, OrderStatus, RefundStatus

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "taobao"
SHOP = "1001"


def load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return payload


def trade_of(payload: dict[str, Any]) -> dict[str, Any]:
    for wrapper in ("trade_fullinfo_get_response", "trade_get_response"):
        if wrapper in payload:
            trade: dict[str, Any] = payload[wrapper]["trade"]
            return trade
    return payload


def adapt(payload: dict[str, Any], channel: str = "taobao") -> Order:
    return TaobaoAdapter(channel).adapt(payload, shop_id=SHOP)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# ---------------------------------------------------------------- golden fixtures


def test_paid_example_from_reference() -> None:
    o = adapt(load("paid"))
    assert o.channel == "taobao" and o.shop_id == SHOP
    assert o.external_id == "3312456789012345678"
    assert o.oli == make_oli("taobao", SHOP, "3312456789012345678") == "tb-1001-3312456789012345678"
    assert o.version == 0
    assert o.status is OrderStatus.PAID
    assert o.channel_status == "WAIT_SELLER_SEND_GOODS"
    assert o.refund_status is RefundStatus.NONE
    # Asia/Shanghai is UTC+8: "2024-06-01 10:02:40" == 2024-06-01T02:02:40Z
    assert o.paid_at == utc(2024, 6, 1, 2, 2, 40)
    assert o.created_at == utc(2024, 6, 1, 2, 2, 11)
    assert o.updated_at == utc(2024, 6, 1, 2, 2, 41)
    assert o.updated_at.tzinfo is UTC
    a = o.amounts
    assert (a.currency, a.total, a.paid, a.shipping, a.discount) == ("CNY", 19800, 18800, 0, 1000)
    assert o.buyer.nick == "t**1" and o.buyer.id == ""
    r = o.receiver
    assert r.masked is True
    assert (r.name, r.phone) == ("张*", "*******5678")
    addr = r.address
    assert (addr.country, addr.province, addr.city, addr.district, addr.town, addr.detail) == (
        "CN", "浙江省", "杭州市", "西湖区", "三墩镇", "**********")
    (line,) = o.lines
    assert line.line_id == "3312456789012345678"
    assert line.sku == "5000001" and line.outer_sku == "SKU-01-RED-M" and line.title == "T恤"
    assert (line.quantity, line.unit_price, line.amount) == (2, 9900, 18800)
    assert (o.buyer_memo, o.seller_memo) == ("周末送", "加急")
    assert o.tags == () and o.holds == ()


def test_trade_only_bare_object_with_integer_tid() -> None:
    payload = load("trade_only")
    assert isinstance(payload["tid"], int) and payload["tid"] > 2**53
    o = adapt(payload)
    assert o.external_id == "3318765432109876543"  # every digit kept
    assert o.status is OrderStatus.SHIPPED
    assert o.channel_status == "WAIT_BUYER_CONFIRM_GOODS"
    assert o.updated_at == utc(2024, 6, 2, 1, 30, 0)
    assert o.created_at == utc(2024, 5, 31, 15, 58, 7)  # crosses midnight backwards
    assert o.paid_at == utc(2024, 5, 31, 16, 1, 15)
    assert (o.amounts.total, o.amounts.paid, o.amounts.shipping, o.amounts.discount) == (
        26930, 25740, 800, 1990)
    assert o.buyer.id == "AAHkq3bXABCdEfGhIjKlMn0P" and o.buyer.nick == "小鱼爱吃鱼"
    r = o.receiver
    assert r.masked is False
    assert r.phone == "0571-88886666"  # mobile empty → landline
    assert r.address.country == "CN"  # receiver_country "" → default
    assert r.address.postcode == "201203"
    mug, tea = o.lines
    assert mug.line_id == "3318765432109876544" and mug.sku == "5100000456"
    assert (mug.quantity, mug.unit_price, mug.amount) == (3, 3990, 10980)  # divide_order_fee
    assert tea.sku == "700000777"  # no sku_id → num_iid
    assert tea.outer_sku == "TEA-LJ-250"  # no outer_sku_id → outer_iid
    assert tea.amount == 13960  # no divide_order_fee → payment
    assert sum(line.amount for line in o.lines) + o.amounts.shipping == o.amounts.paid


def test_wrapped_and_bare_give_the_same_order() -> None:
    wrapped = load("paid")
    bare = trade_of(wrapped)
    trade_get = {"trade_get_response": {"trade": copy.deepcopy(bare)}}
    assert adapt(wrapped) == adapt(bare) == adapt(trade_get)


def test_forbid_consign_is_paid_with_channel_hold() -> None:
    o = adapt(load("forbid_consign"))
    assert o.status is OrderStatus.PAID
    assert o.channel_status == "PAID_FORBID_CONSIGN"
    (hold,) = o.holds
    assert hold.reason == "platform_forbid_consign"
    assert hold.source is HoldSource.CHANNEL
    assert "PAID_FORBID_CONSIGN" in hold.detail
    assert o.receiver.masked is True
    assert (o.amounts.total, o.amounts.paid, o.amounts.discount) == (3990, 2990, 1000)
    assert o.external_id == "3320011223344556677"  # tid_str


def test_closed_after_refund() -> None:
    o = adapt(load("closed_after_refund"))  # taobao.trade.get wrapper
    assert o.status is OrderStatus.CLOSED
    assert o.channel_status == "TRADE_CLOSED"
    assert o.refund_status is RefundStatus.REFUNDED
    assert o.paid_at == utc(2024, 5, 20, 4, 1, 10)
    assert o.updated_at == utc(2024, 5, 22, 8, 45, 9)
    assert [line.amount for line in o.lines] == [25900, 5700]
    assert o.amounts.paid == 31600
    assert o.seller_memo == "买家拍错，已全额退款"


def test_cancelled_before_pay() -> None:
    o = adapt(load("cancelled_before_pay"))
    assert o.status is OrderStatus.CANCELLED
    assert o.channel_status == "TRADE_CLOSED_BY_TAOBAO"
    assert o.paid_at is None
    assert o.is_paid is False
    assert o.refund_status is RefundStatus.NONE
    assert o.amounts.paid == 5990


def test_refund_requested_with_plain_orders_list() -> None:
    payload = load("refund_requested")
    assert isinstance(trade_of(payload)["orders"], list)
    o = adapt(payload)
    assert o.status is OrderStatus.PAID
    assert o.refund_status is RefundStatus.REQUESTED
    assert [line.line_id for line in o.lines] == ["3327778889990001113", "3327778889990001114"]
    assert o.lines[0].outer_sku == "BOOK-PY"
    assert o.buyer_memo == "尽快发货"


def test_presale_deposit_paid_balance_unpaid_is_pending() -> None:
    o = adapt(load("presale_deposit"))
    assert o.tags == ("presale",)
    assert o.status is OrderStatus.PENDING_PAYMENT
    assert o.channel_status == "WAIT_BUYER_PAY"
    assert o.paid_at == utc(2024, 10, 21, 12, 0, 45)  # deposit payment time
    assert (o.amounts.total, o.amounts.paid, o.amounts.discount) == (99900, 89900, 10000)


@pytest.mark.parametrize("step", ["FRONT_NOPAID_FINAL_NOPAID", "FRONT_PAID_FINAL_NOPAID"])
def test_presale_unpaid_balance_overrides_a_paid_status(step: str) -> None:
    payload = load("presale_deposit")
    trade_of(payload).update(status="WAIT_SELLER_SEND_GOODS", step_trade_status=step)
    o = adapt(payload)
    assert o.status is OrderStatus.PENDING_PAYMENT
    assert o.channel_status == "WAIT_SELLER_SEND_GOODS"  # the code stays verbatim


def test_presale_fully_paid_follows_status() -> None:
    payload = load("presale_deposit")
    trade_of(payload).update(status="WAIT_SELLER_SEND_GOODS", step_trade_status="FRONT_PAID_FINAL_PAID")
    o = adapt(payload)
    assert o.status is OrderStatus.PAID and o.tags == ("presale",)


def test_presale_closed_stays_closed() -> None:
    # a presale whose balance was never paid and that the platform closed is over, not pending
    payload = load("presale_deposit")
    trade_of(payload).update(status="TRADE_CLOSED_BY_TAOBAO")
    assert adapt(payload).status is OrderStatus.CANCELLED


def test_unknown_presale_step_status_is_refused() -> None:
    payload = load("presale_deposit")
    trade_of(payload)["step_trade_status"] = "FRONT_PAID_FINAL_PART"
    with pytest.raises(UnknownStatusError, match="FRONT_PAID_FINAL_PART"):
        adapt(payload)


def test_jiyuan_district_used_as_city() -> None:
    o = adapt(load("jiyuan_no_city"))
    addr = o.receiver.address
    assert (addr.province, addr.city, addr.district, addr.town) == ("河南省", "济源市", "", "沁园街道")
    assert addr.detail == "济渎路 100 号" and addr.postcode == "459000"
    assert o.receiver.masked is False
    assert o.receiver.phone == "13812345678"
    assert (o.amounts.shipping, o.amounts.discount, o.amounts.paid) == (600, 600, 6000)


# ---------------------------------------------------------------- errors


def test_unknown_status_names_the_code() -> None:
    with pytest.raises(UnknownStatusError, match="WAIT_GROUP_BUY_SUCCESS") as e:
        adapt(load("unknown_status"))
    assert str(e.value).startswith("taobao: trade.status")


@pytest.mark.parametrize("alias", ["ALL_WAIT_PAY", "ALL_CLOSED"])
def test_query_only_aliases_are_not_trade_statuses(alias: str) -> None:
    payload = load("paid")
    trade_of(payload)["status"] = alias
    with pytest.raises(UnknownStatusError, match=alias):
        adapt(payload)


def test_bad_money_names_the_field() -> None:
    with pytest.raises(AdapterError, match=r"^taobao: trade\.payment: .*'88\.005'"):
        adapt(load("bad_money"))


def test_missing_modified() -> None:
    with pytest.raises(AdapterError, match=r"^taobao: trade\.modified: missing"):
        adapt(load("missing_modified"))


def test_unknown_refund_code_names_the_code() -> None:
    payload = load("paid")
    trade_of(payload)["orders"]["order"][0]["refund_status"] = "WAIT_PLATFORM_ARBITRATE"
    with pytest.raises(UnknownStatusError, match="WAIT_PLATFORM_ARBITRATE") as e:
        adapt(payload)
    assert "trade.orders.order[0].refund_status" in str(e.value)


def test_quantity_not_an_integer() -> None:
    payload = load("paid")
    trade_of(payload)["orders"]["order"][0]["num"] = "two"
    with pytest.raises(AdapterError) as e:
        adapt(payload)
    assert str(e.value) == "taobao: trade.orders.order[0].num: expected an integer, got 'two'"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.pop("tid"), r"trade\.tid: missing"),
        (lambda t: t.pop("status"), r"trade\.status: missing"),
        (lambda t: t.update(orders={"order": {"oid": 1}}), r"trade\.orders\.order: expected a list"),
        (lambda t: t.update(orders="none"), r"trade\.orders: expected a list"),
        (lambda t: t["orders"]["order"].append("x"), r"trade\.orders\.order\[1\]: expected an object"),
        (lambda t: t["orders"]["order"][0].pop("oid"), r"trade\.orders\.order\[0\]\.oid: missing"),
        (lambda t: t["orders"]["order"][0].update(num=0), r"trade\.orders\.order\[0\]\.num: .*positive"),
        (lambda t: t["orders"]["order"][0].update(num=True), r"trade\.orders\.order\[0\]\.num"),
        (lambda t: t["orders"]["order"][0].update(price="-1.00"), r"order\[0\]\.price: negative"),
        (lambda t: t["orders"]["order"][0].update(price="九十九"), r"order\[0\]\.price: expected a yuan"),
        (lambda t: t.update(tid=3.3e18), r"trade\.tid: expected a string or integer id"),
        (lambda t: t.update(modified="2024/06/01 10:02:41"), r"trade\.modified: expected 'yyyy-MM-dd"),
        (lambda t: t.update(pay_time="2024-02-30 10:00:00"), r"trade\.pay_time: not a valid date"),
        (lambda t: t.update(receiver_name=["张*"]), r"trade\.receiver_name: expected a string"),
        (lambda t: t.pop("payment"), r"trade\.payment: missing"),
    ],
)
def test_shape_errors_name_the_path(mutate: Any, message: str) -> None:
    payload = load("paid")
    mutate(trade_of(payload))
    with pytest.raises(AdapterError, match=r"^taobao: .*" + message):
        adapt(payload)


def test_payload_not_an_object() -> None:
    with pytest.raises(AdapterError, match="payload: expected an object"):
        TaobaoAdapter().adapt([1, 2], shop_id=SHOP)  # type: ignore[arg-type]


def test_api_error_response_is_an_adapter_error() -> None:
    err = {"error_response": {"code": 27, "msg": "Invalid session", "sub_code": "invalid-sessionkey"}}
    with pytest.raises(AdapterError, match="Invalid session"):
        adapt(err)


def test_wrapper_without_trade() -> None:
    with pytest.raises(AdapterError, match=r"trade_fullinfo_get_response\.trade: missing"):
        adapt({"trade_fullinfo_get_response": {}})


def test_empty_shop_id_refused() -> None:
    with pytest.raises(AdapterError, match="shop_id"):
        TaobaoAdapter().adapt(load("paid"), shop_id="")


# ---------------------------------------------------------------- identity, channels


def test_same_payload_same_oli() -> None:
    a, b = adapt(load("paid")), adapt(load("paid"))
    assert a == b and a.oli == b.oli
    # tid as an integer, as a string or as tid_str: one order, one OLI
    as_int = load("paid")
    trade_of(as_int)["tid"] = 3312456789012345678
    with_str = load("paid")
    trade_of(with_str)["tid_str"] = "3312456789012345678"
    assert adapt(as_int).oli == adapt(with_str).oli == a.oli


def test_adapt_does_not_mutate_the_payload() -> None:
    payload = load("presale_deposit")
    before = copy.deepcopy(payload)
    adapt(payload)
    assert payload == before


def test_tmall_channel() -> None:
    registry = default_registry()
    o = registry.get("tmall").adapt(load("paid"), shop_id=SHOP)
    assert o.channel == "tmall"
    assert o.oli == make_oli("tmall", SHOP, "3312456789012345678") == "tm-1001-3312456789012345678"
    assert o.oli != adapt(load("paid")).oli
    payload = load("paid")
    trade_of(payload)["status"] = "NOPE"
    with pytest.raises(UnknownStatusError, match=r"^tmall: "):
        registry.get("tmall").adapt(payload, shop_id=SHOP)


def test_registry() -> None:
    registry = default_registry()
    assert registry.channels() == ("taobao", "tmall")
    assert isinstance(registry.get("taobao"), Adapter)
    assert registry.get("taobao").channel == "taobao"
    with pytest.raises(UnknownChannelError, match=r"'lazada'.*taobao, tmall"):
        registry.get("lazada")
    with pytest.raises(ValueError):
        registry.register(TaobaoAdapter("taobao"))
    replacement = TaobaoAdapter("taobao")
    registry.register(replacement, replace=True)
    assert registry.get("taobao") is replacement
    assert default_registry() is not registry  # a new registry every call
    assert AdapterRegistry().channels() == ()


# ---------------------------------------------------------------- refunds


R = RefundStatus


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], R.NONE),
        ([R.NONE, R.NONE], R.NONE),
        ([R.REFUNDED], R.REFUNDED),
        ([R.REFUNDED, R.REFUNDED], R.REFUNDED),
        ([R.REFUNDED, R.NONE], R.PARTIAL_REFUNDED),
        ([R.REFUNDED, R.REJECTED_OR_CLOSED], R.PARTIAL_REFUNDED),
        ([R.REQUESTED, R.NONE], R.REQUESTED),
        ([R.REQUESTED, R.REFUNDED], R.REQUESTED),
        ([R.REJECTED_OR_CLOSED, R.REJECTED_OR_CLOSED], R.REJECTED_OR_CLOSED),
        ([R.REJECTED_OR_CLOSED, R.NONE], R.REJECTED_OR_CLOSED),
    ],
)
def test_aggregate_refund(lines: list[RefundStatus], expected: RefundStatus) -> None:
    assert aggregate_refund(lines) is expected


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (["SUCCESS", "NO_REFUND"], R.PARTIAL_REFUNDED),
        (["SELLER_REFUSE_BUYER", "CLOSED"], R.REJECTED_OR_CLOSED),
        (["WAIT_BUYER_RETURN_GOODS", "SUCCESS"], R.REQUESTED),
        (["WAIT_SELLER_CONFIRM_GOODS", "NO_REFUND"], R.REQUESTED),
        ([None, "NO_REFUND"], R.NONE),  # a line without refund_status has no refund
    ],
)
def test_refund_codes_on_lines(codes: list[str | None], expected: RefundStatus) -> None:
    payload = load("closed_after_refund")
    trade = trade_of(payload)
    trade["status"] = "WAIT_SELLER_SEND_GOODS"
    for line, code in zip(trade["orders"]["order"], codes, strict=True):
        if code is None:
            line.pop("refund_status")
        else:
            line["refund_status"] = code
    assert adapt(payload).refund_status is expected


def test_refund_table_matches_reference() -> None:
    assert set(REFUND_TABLE) == {
        "NO_REFUND", "WAIT_SELLER_AGREE", "WAIT_BUYER_RETURN_GOODS", "WAIT_SELLER_CONFIRM_GOODS",
        "SELLER_REFUSE_BUYER", "CLOSED", "SUCCESS",
    }


# ---------------------------------------------------------------- status table


REFERENCE_STATUSES = {
    "TRADE_NO_CREATE_PAY": OrderStatus.PENDING_PAYMENT,
    "WAIT_BUYER_PAY": OrderStatus.PENDING_PAYMENT,
    "PAY_PENDING": OrderStatus.PENDING_PAYMENT,
    "WAIT_PRE_AUTH_CONFIRM": OrderStatus.PENDING_PAYMENT,
    "PAID_FORBID_CONSIGN": OrderStatus.PAID,
    "WAIT_SELLER_SEND_GOODS": OrderStatus.PAID,
    "SELLER_CONSIGNED_PART": OrderStatus.PARTIALLY_SHIPPED,
    "WAIT_BUYER_CONFIRM_GOODS": OrderStatus.SHIPPED,
    "TRADE_BUYER_SIGNED": OrderStatus.DELIVERED,
    "TRADE_FINISHED": OrderStatus.COMPLETED,
    "TRADE_CLOSED": OrderStatus.CLOSED,
    "TRADE_CLOSED_BY_TAOBAO": OrderStatus.CANCELLED,
}


def test_status_table_matches_reference() -> None:
    assert STATUS_TABLE == REFERENCE_STATUSES


@given(st.sampled_from(sorted(STATUS_TABLE)))
def test_every_status_code_maps_to_a_status(code: str) -> None:
    payload = load("paid")
    trade_of(payload)["status"] = code
    o = adapt(payload)
    assert o.status is STATUS_TABLE[code]
    assert isinstance(o.status, OrderStatus)
    assert o.channel_status == code
    assert bool(o.holds) == (code == "PAID_FORBID_CONSIGN")


# ---------------------------------------------------------------- conversions


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("188.00", 18800), ("188", 18800), ("188.5", 18850), ("0.01", 1), ("0", 0), ("0.00", 0),
        (".5", 50), ("1.000", 100), (188.5, 18850), (0.1, 10), (19.99, 1999), (188, 18800),
        (Decimal("1.2"), 120), (Decimal("3E+2"), 30000), ("-0.00", 0),
    ],
)
def test_yuan_to_fen_values(value: object, expected: int) -> None:
    assert yuan_to_fen(value, "x") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.005", "more than 2 decimal"), (0.001, "more than 2 decimal"), ("-1.00", "negative"),
        (-3, "negative"), ("abc", "expected a yuan amount"), ("", "expected a yuan amount"),
        ("1e3", "expected a yuan amount"), ("1_000", "expected a yuan amount"),
        ("NaN", "expected a yuan amount"), (float("inf"), "finite"), (Decimal("NaN"), "finite"),
        (True, "expected a yuan amount"), (None, "missing"), ([1], "expected a yuan amount"),
        ("1" * 30, "out of range"), (Decimal("1E+99999"), "out of range"),
    ],
)
def test_yuan_to_fen_refuses(value: object, message: str) -> None:
    with pytest.raises(AdapterError, match=r"^trade\.payment: .*" + message):
        yuan_to_fen(value, "trade.payment")


@given(
    st.integers(min_value=0, max_value=10**12),
    st.one_of(st.none(), st.integers(0, 9).map(str), st.integers(0, 99).map(lambda n: f"{n:02d}")),
)
def test_yuan_to_fen_is_exact(whole: int, decimals: str | None) -> None:
    text = str(whole) if decimals is None else f"{whole}.{decimals}"
    assert yuan_to_fen(text, "x") == int(Decimal(text) * 100)


@given(st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_yuan_to_fen_exact_for_decimals(value: Decimal) -> None:
    assert yuan_to_fen(str(value), "x") == int(value * 100)
    assert yuan_to_fen(value, "x") == int(value * 100)


def test_optional_yuan_to_fen() -> None:
    assert optional_yuan_to_fen(None, "x") is None
    assert optional_yuan_to_fen("", "x") is None
    assert optional_yuan_to_fen("0.00", "x") == 0


def test_fen() -> None:
    assert fen(1999, "x") == 1999
    assert fen("250", "x") == 250
    for bad in (-1, 1.5, True, "1.5", None):
        with pytest.raises(AdapterError, match=r"^sku_order\.pay_amount: "):
            fen(bad, "sku_order.pay_amount")


def test_shanghai_time() -> None:
    assert shanghai_time("2024-06-01 10:02:40", "t") == utc(2024, 6, 1, 2, 2, 40)
    assert shanghai_time("2024-01-01 07:59:59", "t") == utc(2023, 12, 31, 23, 59, 59)
    for not_set in (None, "", "0000-00-00 00:00:00"):
        assert shanghai_time(not_set, "t") is None
    for bad in ("2024-06-01T10:02:40", "2024-13-01 00:00:00", "yesterday", 1717207360):
        with pytest.raises(AdapterError, match=r"^trade\.created: "):
            shanghai_time(bad, "trade.created")


def test_epoch_conversions() -> None:
    assert epoch_seconds(1717207360, "t") == utc(2024, 6, 1, 2, 2, 40)
    assert epoch_seconds("1717207360", "t") == utc(2024, 6, 1, 2, 2, 40)
    assert epoch_millis(1717207360123, "t") == datetime(2024, 6, 1, 2, 2, 40, 123000, tzinfo=UTC)
    for not_set in (0, "0", "", None):
        assert epoch_seconds(not_set, "t") is None
        assert epoch_millis(not_set, "t") is None
    for bad in (-1, "soon", 1.5, True, 10**20):
        with pytest.raises(AdapterError, match=r"^order\.update_time: "):
            epoch_seconds(bad, "order.update_time")
        with pytest.raises(AdapterError, match=r"^order\.update_time: "):
            epoch_millis(bad, "order.update_time")
