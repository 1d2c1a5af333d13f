"""JD, Pinduoduo and Shopify mapping files against their documented codes and edge cases.

The golden fixtures (tests/fixtures/{jd,pdd,shopify}/) are checked field by field by
test_channel_fixtures.py; here: every documented code, the multi-field status rules,
wrapped responses, and the failures that must name the field.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from app.channels import builtin_registry
from app.domain.errors import AdapterError, UnknownStatusError
from app.domain.model import Order, OrderStatus, RefundStatus

S, R = OrderStatus, RefundStatus
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REGISTRY = builtin_registry()


def load(channel: str, name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / channel / f"{name}.json").read_text(encoding="utf-8"))
    return payload


def adapt(channel: str, payload: dict[str, Any]) -> Order:
    return REGISTRY.get(channel).adapt(payload, shop_id="1001")


# ---------------------------------------------------------------- JD

#: orderState → (status unpaid, status paid, refund paid, hold reason) — docs/channels.md §JD
JD_CODES: dict[str, tuple[OrderStatus, OrderStatus, RefundStatus, str]] = {
    "WAIT_SELLER_STOCK_OUT": (S.PAID, S.PAID, R.NONE, ""),
    "WAIT_SELLER_DELIVERY": (S.PAID, S.PAID, R.NONE, ""),
    "WAIT_SEND_CODE": (S.PAID, S.PAID, R.NONE, ""),
    "PAUSE": (S.PAID, S.PAID, R.NONE, "platform_paused"),
    "POP_ORDER_PAUSE": (S.PAID, S.PAID, R.NONE, "platform_paused"),
    "LOCKED": (S.PAID, S.PAID, R.REQUESTED, "platform_locked"),
    "SEND_TO_DISTRIBUTION_CENER": (S.SHIPPED, S.SHIPPED, R.NONE, ""),
    "DISTRIBUTION_CENTER_RECEIVED": (S.SHIPPED, S.SHIPPED, R.NONE, ""),
    "WAIT_GOODS_RECEIVE_CONFIRM": (S.SHIPPED, S.SHIPPED, R.NONE, ""),
    "RECEIPTS_CONFIRM": (S.COMPLETED, S.COMPLETED, R.NONE, ""),
    "FINISHED_L": (S.COMPLETED, S.COMPLETED, R.NONE, ""),
    "TRADE_CANCELED": (S.CANCELLED, S.CLOSED, R.REFUNDED, ""),
}


def test_jd_status_table_holds_exactly_the_documented_codes() -> None:
    assert set(REGISTRY.get("jd").status_table) == set(JD_CODES)


@pytest.mark.parametrize("code", sorted(JD_CODES))
@pytest.mark.parametrize("unpaid", ["0001-01-01 00:00:00", "1970-01-01 00:00:00", ""])
def test_jd_every_code_paid_or_not(code: str, unpaid: str) -> None:
    status, if_paid, refund, hold = JD_CODES[code]
    payload = load("jd", "missing_optional")
    payload["orderState"] = code
    paid = adapt("jd", payload)
    payload["paymentConfirmTime"] = unpaid
    not_paid = adapt("jd", payload)
    assert (paid.status, not_paid.status) == (if_paid, status)
    assert paid.channel_status == code and paid.refund_status is refund
    assert not_paid.paid_at is None
    assert [h.reason for h in paid.holds] == ([hold] if hold else [])
    if hold:
        assert paid.holds[0].detail.startswith(f"jd status {code}: ")


@pytest.mark.parametrize("code", ["DELIVERY_RETURN", "UN_KNOWN", "NOT_PAY", "wait_seller_stock_out"])
def test_jd_undocumented_codes_are_refused_naming_the_code(code: str) -> None:
    payload = load("jd", "missing_optional")
    payload["orderState"] = code
    with pytest.raises(UnknownStatusError, match=f"^jd: orderInfo.orderState: unknown status code '{code}'$"):
        adapt("jd", payload)


def test_jd_search_page_must_hold_exactly_one_order() -> None:
    page = load("jd", "paid")
    result = page["jingdong_pop_order_enSearch_responce"]["searchorderinfo_result"]
    result["orderInfoList"].append(copy.deepcopy(result["orderInfoList"][0]))
    with pytest.raises(AdapterError, match="orderInfoList: expected exactly one order object, got a list of 2"):
        adapt("jd", page)
    result["orderInfoList"] = []
    with pytest.raises(AdapterError, match="orderInfoList"):
        adapt("jd", page)


def test_jd_api_failures_are_adapter_errors_with_the_platform_message() -> None:
    with pytest.raises(AdapterError, match="the API call failed: 19 Invalid access token"):
        adapt("jd", {"error_response": {"code": "19", "zh_desc": "Invalid access token"}})
    page = load("jd", "paid")
    page["jingdong_pop_order_enSearch_responce"]["searchorderinfo_result"]["apiResult"] = {
        "success": False, "englishErrCode": "param error", "numberCode": 10200001}
    with pytest.raises(AdapterError, match="the API call failed: .*param error"):
        adapt("jd", page)


def test_jd_modified_not_set_is_missing() -> None:
    payload = load("jd", "missing_optional")
    payload["modified"] = "0001-01-01 00:00:00"
    with pytest.raises(AdapterError, match="^jd: orderInfo.modified: missing$"):
        adapt("jd", payload)


def test_jd_line_amount_is_price_times_quantity_and_quantity_is_checked() -> None:
    payload = load("jd", "missing_optional")
    payload["itemInfoList"][0].update(jdPrice="19.90", itemTotal="3")
    line = adapt("jd", payload).lines[0]
    assert (line.unit_price, line.quantity, line.amount) == (1990, 3, 5970)
    payload["itemInfoList"][0]["itemTotal"] = "0"
    with pytest.raises(AdapterError, match=r"itemInfoList\[0\]\.itemTotal: expected a positive quantity"):
        adapt("jd", payload)


# ---------------------------------------------------------------- Pinduoduo


def pdd(**fields: Any) -> Order:
    payload = load("pdd", "paid")
    payload["order_info_get_response"]["order_info"].update(fields)
    return adapt("pdd", payload)


@pytest.mark.parametrize(("fields", "status", "hold"), [
    ({"order_status": 1}, S.PAID, ""),
    ({"order_status": 2}, S.SHIPPED, ""),
    ({"order_status": 3, "receive_time": ""}, S.DELIVERED, ""),
    ({"order_status": 3, "receive_time": "2024-06-05 10:00:00"}, S.COMPLETED, ""),
    ({"confirm_status": 2}, S.CLOSED, ""),
    ({"confirm_status": 2, "pay_time": ""}, S.CANCELLED, ""),
    ({"group_status": 2}, S.CLOSED, ""),
    ({"group_status": 2, "order_status": 2}, S.CLOSED, ""),
    ({"confirm_status": 0, "group_status": 0}, S.PAID, "platform_group_forming"),
    ({"confirm_status": 0, "group_status": 1}, S.PAID, "platform_not_confirmed"),
    ({"risk_control_status": 1}, S.PAID, "platform_risk_control"),
    ({"risk_control_status": 1, "order_status": 2}, S.SHIPPED, ""),
    ({"trade_type": 1, "step_order_info": {"step_trade_status": 0}}, S.PENDING_PAYMENT, ""),
    ({"trade_type": 1, "step_order_info": {"step_trade_status": 1}}, S.PENDING_PAYMENT, ""),
    ({"trade_type": 1, "step_order_info": {"step_trade_status": 2}}, S.PAID, ""),
    ({"trade_type": 1, "step_order_info": {"step_trade_status": 1}, "confirm_status": 2}, S.CLOSED, ""),
])
def test_pdd_status_from_its_several_fields(fields: dict[str, Any], status: OrderStatus, hold: str) -> None:
    order = pdd(**fields)
    assert order.status is status
    assert [h.reason for h in order.holds] == ([hold] if hold else [])
    assert order.channel_status.startswith(f"order_status={fields.get('order_status', 1)},confirm_status=")
    assert ("presale" in order.tags) is (fields.get("trade_type") == 1)


@pytest.mark.parametrize(("refund_status", "after_sales_status", "refund"), [
    (1, 0, R.NONE), (1, 16, R.NONE), (2, 2, R.REQUESTED), (3, 4, R.REQUESTED), (4, 10, R.REFUNDED),
    (1, 9, R.REJECTED_OR_CLOSED), (1, 11, R.REJECTED_OR_CLOSED), (1, 12, R.REJECTED_OR_CLOSED),
    (1, 13, R.REJECTED_OR_CLOSED), (None, None, R.NONE),
])
def test_pdd_refund(refund_status: int | None, after_sales_status: int | None, refund: RefundStatus) -> None:
    assert pdd(refund_status=refund_status, after_sales_status=after_sales_status).refund_status is refund


@pytest.mark.parametrize(("field", "value"), [
    ("order_status", 5), ("confirm_status", 3), ("group_status", 9), ("refund_status", 5),
    ("after_sales_status", 1), ("after_sales_status", 99), ("risk_control_status", 2), ("trade_type", 2),
])
def test_pdd_undocumented_codes_are_refused_naming_field_and_code(field: str, value: int) -> None:
    with pytest.raises(UnknownStatusError, match=f"^pdd: order_info.{field}: unknown status code '{value}'$"):
        pdd(**{field: value})


def test_pdd_unknown_presale_step_is_refused() -> None:
    with pytest.raises(UnknownStatusError, match=r"step_order_info\.step_trade_status: unknown status code '3'"):
        pdd(trade_type=1, step_order_info={"step_trade_status": 3})


def test_pdd_gift_lines_follow_the_goods_and_have_their_own_ids() -> None:
    order = adapt("pdd", load("pdd", "multi_line_gift"))
    assert [(li.line_id, li.sku, li.amount) for li in order.lines] == [
        ("900000012", "900000012", 11970), ("gift-900000013", "900000013", 0)]
    only_gifts = load("pdd", "multi_line_gift")
    del only_gifts["order_info_get_response"]["order_info"]["item_list"]
    assert [li.line_id for li in adapt("pdd", only_gifts).lines] == ["gift-900000013"]


def test_pdd_ciphertext_first_then_the_masked_text() -> None:
    order = pdd()
    assert order.receiver.name.startswith("~") and order.receiver.masked
    order = pdd(receiver_name="", receiver_phone="", receiver_address="")
    assert (order.receiver.name, order.receiver.phone, order.receiver.address.detail) == (
        "张*", "138****5678", "三墩镇***")


def test_pdd_amounts_are_exact_from_json_numbers() -> None:
    order = pdd(goods_amount=0.3, discount_amount=0.1, pay_amount=0.2, postage=0.0)
    assert (order.amounts.total, order.amounts.discount, order.amounts.paid) == (30, 10, 20)
    with pytest.raises(AdapterError, match=r"order_info\.pay_amount: more than 2 decimal places"):
        pdd(pay_amount=0.001)


# ---------------------------------------------------------------- Shopify

SHOPIFY_FINANCIAL = ("pending", "authorized", "partially_paid", "expired", "paid", "partially_refunded",
                     "refunded", "voided")


def shopify(**fields: Any) -> Order:
    payload = load("shopify", "paid")
    payload["order"].update(fields)
    return adapt("shopify", payload)


def test_shopify_tables_hold_exactly_the_documented_values() -> None:
    adapter = REGISTRY.get("shopify")
    assert set(adapter.status_table) == set(SHOPIFY_FINANCIAL)
    assert adapter.refund_spec is not None and set(adapter.refund_spec.table) == set(SHOPIFY_FINANCIAL)


@pytest.mark.parametrize(("financial", "fulfillment", "cancelled", "closed", "status"), [
    ("pending", None, False, False, S.PENDING_PAYMENT),
    ("authorized", None, False, False, S.PENDING_PAYMENT),
    ("partially_paid", None, False, False, S.PENDING_PAYMENT),
    ("expired", None, False, False, S.PENDING_PAYMENT),
    ("paid", None, False, False, S.PAID),
    ("partially_refunded", None, False, False, S.PAID),
    ("refunded", None, False, False, S.PAID),
    ("voided", None, False, False, S.CANCELLED),
    ("paid", "partial", False, False, S.PARTIALLY_SHIPPED),
    ("paid", "fulfilled", False, False, S.SHIPPED),
    ("paid", "fulfilled", False, True, S.COMPLETED),
    ("pending", "fulfilled", False, False, S.SHIPPED),  # shipped on payment terms: the shipment is a fact
    ("paid", None, True, True, S.CLOSED),
    ("partially_paid", None, True, False, S.CLOSED),
    ("refunded", "restocked", False, False, S.CLOSED),
    ("authorized", None, True, False, S.CANCELLED),
    ("voided", "restocked", True, True, S.CANCELLED),
])
def test_shopify_status(financial: str, fulfillment: str | None, cancelled: bool, closed: bool,
                        status: OrderStatus) -> None:
    at = "2024-06-02T10:00:00-05:00"
    order = shopify(financial_status=financial, fulfillment_status=fulfillment,
                    cancelled_at=at if cancelled else None, closed_at=at if closed else None)
    assert order.status is status
    expected = f"financial_status={financial},fulfillment_status={fulfillment or 'null'}"
    assert order.channel_status == expected + (",cancelled" if cancelled else "")
    captured = financial in ("paid", "partially_refunded", "refunded")
    assert (order.paid_at is not None) is captured


@pytest.mark.parametrize(("field", "value"), [("financial_status", "disputed"),
                                              ("fulfillment_status", "unfulfilled"),
                                              ("fulfillment_status", "on_hold")])
def test_shopify_undocumented_values_are_refused(field: str, value: str) -> None:
    with pytest.raises(UnknownStatusError, match=f"^shopify: order.{field}: unknown status code '{value}'$"):
        shopify(**{field: value})


@pytest.mark.parametrize(("currency", "price", "minor"), [
    ("USD", "12.00", 1200), ("JPY", "1200", 1200), ("KWD", "1.234", 1234), ("CNY", "0.50", 50),
    ("usd", "12.5", 1250),
])
def test_shopify_money_in_the_currencys_minor_units(currency: str, price: str, minor: int) -> None:
    payload = load("shopify", "missing_optional")
    payload.update(currency=currency, total_price=price, total_line_items_price=price)
    payload["line_items"][0]["price"] = price
    order = adapt("shopify", payload)
    assert (order.amounts.total, order.amounts.paid, order.lines[0].unit_price) == (minor, minor, minor)


@pytest.mark.parametrize(("currency", "price", "problem"), [
    ("JPY", "1200.5", r"order\.total_price: more than 0 decimal places"),
    ("USD", "1.001", r"order\.total_price: more than 2 decimal places"),
    ("XYZ", "1.00", r"order\.currency: unknown ISO 4217 currency code 'XYZ'"),
    ("USD", "-1.00", r"order\.total_price: expected a non-negative amount"),
    ("USD", "ten", r"order\.total_price: expected a decimal amount"),
])
def test_shopify_bad_money_names_the_field(currency: str, price: str, problem: str) -> None:
    payload = load("shopify", "missing_optional")
    payload.update(currency=currency, total_price=price, total_line_items_price="1")
    payload["line_items"][0]["price"] = "1"
    with pytest.raises(AdapterError, match=problem):
        adapt("shopify", payload)


def test_shopify_line_discounts_from_allocations_or_total_discount() -> None:
    payload = load("shopify", "paid")
    item = payload["order"]["line_items"][0]  # 2 × 12.00, total_discount 2.00
    assert adapt("shopify", payload).lines[0].amount == 2200
    item["discount_allocations"] = [{"amount": "1.50"}, {"amount": "0.50"}, {"amount": "1.00"}]
    assert adapt("shopify", payload).lines[0].amount == 2100  # allocations win
    item["discount_allocations"] = [{"amount": "30.00"}]
    with pytest.raises(AdapterError, match=r"line_items\[0\]: discounts 3000 exceed price × quantity 2400"):
        adapt("shopify", payload)


def test_shopify_without_shipping_address_or_customer() -> None:
    order = adapt("shopify", load("shopify", "missing_optional"))
    assert order.receiver.address.country == "" and order.receiver.name == "" and not order.receiver.masked
    assert order.buyer.id == "" and order.buyer.nick == ""
    assert order.lines[0].sku == "44000000017" and order.lines[0].outer_sku == ""


def test_shopify_custom_line_item_has_no_sku() -> None:
    payload = load("shopify", "missing_optional")
    payload["line_items"][0]["variant_id"] = None
    assert adapt("shopify", payload).lines[0].sku == ""


def test_shopify_error_response_and_naive_times() -> None:
    with pytest.raises(AdapterError, match="errors: the API call failed: Not Found"):
        adapt("shopify", {"errors": "Not Found"})
    with pytest.raises(AdapterError, match=r"order\.updated_at: ISO-8601 time without a UTC offset"):
        shopify(updated_at="2024-06-01T10:05:00")
