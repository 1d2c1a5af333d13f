"""Pure: one simulated order, as one platform's API returns it at one of its changes.

The shapes follow the channel adapters' golden fixtures (tests/fixtures/<channel>/):
Taobao/Tmall and WeChat as their detail responses (``trade_fullinfo_get_response`` /
``{"errcode": 0, "order": …}``), the others as one element of their list responses.
Platform times are the change's moment plus the channel's clock skew, cut to the
platform's resolution.
"""

from __future__ import annotations

import math
import random
from typing import Any

from app.demo_data import PRODUCTS, PROVINCES, SURNAMES
from app.platforms.base import iso_text, shanghai_text
from app.simulator.world import SimOrder, World

__all__ = ["modified_time", "render"]

_CODES: dict[str, dict[str, Any]] = {
    "taobao": {"UNPAID": "WAIT_BUYER_PAY", "PAID": "WAIT_SELLER_SEND_GOODS", "SHIPPED": "WAIT_BUYER_CONFIRM_GOODS",
               "COMPLETED": "TRADE_FINISHED", "CANCELLED": "TRADE_CLOSED_BY_TAOBAO", "CLOSED": "TRADE_CLOSED"},
    "douyin": {"UNPAID": 1, "PAID": 2, "SHIPPED": 3, "COMPLETED": 5, "CANCELLED": 4, "CLOSED": 4},
    "kuaishou": {"UNPAID": 10, "PAID": 30, "SHIPPED": 40, "COMPLETED": 70, "CANCELLED": 80, "CLOSED": 80},
    "jd": {"PAID": "WAIT_SELLER_STOCK_OUT", "SHIPPED": "WAIT_GOODS_RECEIVE_CONFIRM", "COMPLETED": "FINISHED_L",
           "CANCELLED": "TRADE_CANCELED", "CLOSED": "TRADE_CANCELED"},
    "wechat": {"UNPAID": 10, "PAID": 20, "SHIPPED": 30, "COMPLETED": 100, "CANCELLED": 250, "CLOSED": 200},
}
_CODES["tmall"] = _CODES["taobao"]
_RESOLUTION = {"kuaishou": 0.001}


def platform_time(world: World, order: SimOrder, index: int, start: float) -> float:
    t = start + order.changes[index].at + world.skew(order.channel)
    step = _RESOLUTION.get(order.channel, 1.0)
    return math.floor(round(t / step, 6)) * step


def modified_time(world: World, order: SimOrder, index: int, start: float) -> float:
    """The platform's modified time of change `index` (epoch seconds, platform resolution)."""
    return platform_time(world, order, index, start)


def state_code(channel: str, state: str) -> Any:
    return _CODES[channel][state]


class _Facts:
    """What every shape needs, computed once: times, lines, place, buyer."""

    def __init__(self, world: World, order: SimOrder, index: int, start: float) -> None:
        rng = random.Random(order.number * 7919 + world.spec.seed)
        self.state = order.changes[index].state
        self.created = platform_time(world, order, 0, start)
        self.modified = platform_time(world, order, index, start)
        paid = order.change_index("PAID", index)
        self.paid = platform_time(world, order, paid, start) if paid is not None else None
        shipped = order.change_index("SHIPPED", index)
        self.shipped = platform_time(world, order, shipped, start) if shipped is not None else None
        done = order.change_index("COMPLETED", index)
        self.completed = platform_time(world, order, done, start) if done is not None else None
        self.place = PROVINCES[rng.randrange(len(PROVINCES))]
        self.lines = [(title, price, rng.randint(1, 3)) for title, price, _w in
                      rng.sample(PRODUCTS, rng.randint(1, 2))]
        self.total = sum(price * qty for _t, price, qty in self.lines)
        self.surname = SURNAMES[rng.randrange(len(SURNAMES))]
        self.phone_tail = rng.randint(1000, 9999)
        self.detail = f"{self.place[3]}{rng.randint(1, 999)}号"
        if self.place[1] == "":  # a province-managed county-level city: the adapters read the district
            self.place = (self.place[0], self.place[2], self.place[2], self.place[3])
        if self.place[2] == "":
            self.place = (self.place[0], self.place[1], self.place[1], self.place[3])


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def _taobao(order: SimOrder, f: _Facts) -> dict[str, Any]:
    status = _CODES["taobao"][f.state]
    trade: dict[str, Any] = {
        "tid": order.external_id, "tid_str": order.external_id, "status": status, "type": "fixed",
        "buyer_nick": f"b**{order.number % 10}", "created": shanghai_text(f.created),
        "modified": shanghai_text(f.modified), "payment": _yuan(f.total), "total_fee": _yuan(f.total),
        "post_fee": "0.00", "discount_fee": "0.00", "receiver_name": f"{f.surname}*",
        "receiver_mobile": f"138****{f.phone_tail}", "receiver_state": f.place[0], "receiver_city": f.place[1],
        "receiver_district": f.place[2], "receiver_town": f.place[3], "receiver_address": f.detail,
        "receiver_zip": "000000", "seller_memo": "", "buyer_message": "",
        "orders": {"order": [
            {"oid": f"{order.external_id}{i}", "num_iid": 680000000 + i, "sku_id": str(5000000 + i),
             "outer_iid": f"SPU-{i:02d}", "outer_sku_id": f"SKU-{title}", "title": title, "num": qty,
             "price": _yuan(price), "total_fee": _yuan(price * qty), "payment": _yuan(price * qty),
             "divide_order_fee": _yuan(price * qty), "status": status, "refund_status": "NO_REFUND"}
            for i, (title, price, qty) in enumerate(f.lines)]},
    }
    if f.paid is not None:
        trade["pay_time"] = shanghai_text(f.paid)
    if f.shipped is not None:
        trade["consign_time"] = shanghai_text(f.shipped)
    if f.completed is not None:
        trade["end_time"] = shanghai_text(f.completed)
    return {"trade_fullinfo_get_response": {"trade": trade}}


def _douyin(order: SimOrder, f: _Facts) -> dict[str, Any]:
    code = _CODES["douyin"][f.state]
    pay_time = int(f.paid) if f.paid is not None else 0
    return {
        "order_id": order.external_id, "order_level": 2, "order_status": code, "main_status": code,
        "create_time": int(f.created), "pay_time": pay_time, "update_time": int(f.modified),
        "finish_time": int(f.completed or 0), "ship_time": int(f.shipped or 0), "pay_type": 1,
        "order_amount": f.total, "pay_amount": f.total, "post_amount": 0, "promotion_amount": 0,
        "doudian_open_id": f"1@#open{order.number}==", "encrypt_post_receiver": f"##enc{order.number}#1##",
        "encrypt_post_tel": f"$$enc{order.number}$1$$", "mask_post_receiver": f"{f.surname}**",
        "mask_post_tel": f"138****{f.phone_tail}",
        "post_addr": {"province": {"name": f.place[0], "id": ""}, "city": {"name": f.place[1], "id": ""},
                      "town": {"name": f.place[2], "id": ""}, "street": {"name": f.place[3], "id": ""},
                      "encrypt_detail": f"##addr{order.number}#1##"},
        "mask_post_addr": {"province": {"name": f.place[0], "id": ""}, "city": {"name": f.place[1], "id": ""},
                           "town": {"name": f.place[2], "id": ""}, "street": {"name": f.place[3], "id": ""},
                           "detail": f.detail[:2] + "***"},
        "buyer_words": "", "seller_words": "", "seller_remark_stars": 0, "logistics_info": [],
        "sku_order_list": [
            {"order_id": f"{order.external_id[:-1]}{i + 2}", "parent_order_id": order.external_id, "order_level": 3,
             "order_status": code, "product_id": 3600000000000000001 + i, "product_name": title,
             "sku_id": 1700000000000001 + i, "out_sku_id": f"SKU-{title}", "code": f"SKU-{title}",
             "item_num": qty, "origin_amount": price, "sum_amount": price * qty, "pay_amount": price * qty,
             "given_product_type": "MASTER",
             "after_sale_info": {"after_sale_status": 0, "after_sale_type": 0, "refund_status": 0}}
            for i, (title, price, qty) in enumerate(f.lines)],
    }


def _kuaishou(order: SimOrder, f: _Facts) -> dict[str, Any]:
    title, price, qty = f.lines[0]  # one item per Kuaishou order
    ms = lambda t: round(t * 1000) if t is not None else 0  # noqa: E731
    return {
        "orderBaseInfo": {
            "oid": int(order.external_id), "status": _CODES["kuaishou"][f.state], "buyerNick": f"快手用户{order.number}",
            "buyerOpenId": f"f1a2{order.number:08d}", "createTime": ms(f.created), "payTime": ms(f.paid),
            "updateTime": ms(f.modified), "sendTime": ms(f.shipped), "recvTime": 0, "totalFee": price * qty,
            "discountFee": 0, "expressFee": 0, "remark": "", "payType": 1 if f.paid is not None else 0},
        "orderItemInfo": {
            "orderItemId": int(order.external_id) + 1, "itemId": 2000000000 + order.number,
            "skuId": 3000000000 + order.number, "relItemId": 0, "relSkuId": 0, "skuNick": f"SKU-{title}",
            "itemTitle": title, "skuDesc": "默认", "num": qty, "price": price, "originalPrice": price,
            "discountFee": 0, "warehouseCode": ""},
        "orderAddress": {
            "encryptedConsignee": f"#enc{order.number}#", "desensitiseConsignee": f"{f.surname}*",
            "encryptedMobile": f"$enc{order.number}$", "desensitiseMobile": f"138****{f.phone_tail}",
            "province": f.place[0], "city": f.place[1], "district": f.place[2], "town": f.place[3],
            "encryptedAddress": f"~enc{order.number}~", "desensitiseAddress": f.detail[:2] + "***"},
        "orderRefundList": [], "orderLogisticsInfo": [], "orderNote": {"sellerNote": []},
    }


def _jd(order: SimOrder, f: _Facts) -> dict[str, Any]:
    unset = "0001-01-01 00:00:00"
    return {
        "orderId": order.external_id, "venderId": "10600001", "orderType": "22",
        "orderState": _CODES["jd"][f.state], "payType": "4-在线支付",
        "orderTotalPrice": _yuan(f.total), "orderSellerPrice": _yuan(f.total), "orderPayment": _yuan(f.total),
        "freightPrice": "0.00", "sellerDiscount": "0.00", "balanceUsed": "0.00",
        "orderStartTime": shanghai_text(f.created),
        "paymentConfirmTime": shanghai_text(f.paid) if f.paid is not None else unset,
        "modified": shanghai_text(f.modified),
        "orderEndTime": shanghai_text(f.completed) if f.completed is not None else unset,
        "venderRemark": "", "orderRemark": "", "pin": f"jd_{order.number:04d}****",
        "open_id_buyer": f"o-jd-{order.number}",
        "consigneeInfo": {"fullname": f"AAS/enc{order.number}==", "mobile": f"138*******{f.phone_tail % 10}",
                          "telephone": f"138*******{f.phone_tail % 10}", "province": f.place[0],
                          "city": f.place[1], "county": f.place[2], "town": f.place[3],
                          "fullAddress": f"AAS/addr{order.number}==", "desen_mobile": f"{f.phone_tail:x}"},
        "itemInfoList": [{"skuId": str(100548877001 + i), "outerSkuId": f"SKU-{title}", "wareId": str(100206659001 + i),
                          "skuName": title, "jdPrice": _yuan(price), "itemTotal": str(qty)}
                         for i, (title, price, qty) in enumerate(f.lines)],
        "couponDetailList": [], "waybill": "", "logisticsId": "", "returnOrder": "0",
    }


def _pdd(order: SimOrder, f: _Facts) -> dict[str, Any]:
    order_status = {"PAID": 1, "SHIPPED": 2, "COMPLETED": 3}.get(f.state, 1)
    return {
        "order_sn": order.external_id, "order_status": order_status,
        "confirm_status": 2 if f.state in ("CANCELLED", "CLOSED") else 1, "group_status": 1,
        "refund_status": 4 if f.state == "CLOSED" else 1, "after_sales_status": 10 if f.state == "CLOSED" else 0,
        "risk_control_status": 0, "trade_type": 0,
        "created_time": shanghai_text(f.created), "pay_time": shanghai_text(f.paid) if f.paid else "",
        "confirm_time": shanghai_text(f.paid) if f.paid else "", "updated_at": shanghai_text(f.modified),
        "shipping_time": shanghai_text(f.shipped) if f.shipped else "",
        "receive_time": shanghai_text(f.completed) if f.completed else "",
        "goods_amount": f.total / 100, "discount_amount": 0.0, "seller_discount": 0.0, "platform_discount": 0.0,
        "postage": 0.0, "pay_amount": f.total / 100,
        "receiver_name": f"~enc{order.number}~", "receiver_phone": f"$138$enc{order.number}$",
        "receiver_address": f"~addr{order.number}~", "receiver_name_mask": f"{f.surname}*",
        "receiver_phone_mask": f"138****{f.phone_tail}", "receiver_address_mask": f.detail[:2] + "***",
        "country": "中国", "province": f.place[0], "city": f.place[1], "town": f.place[2],
        "address": "", "address_mask": f"{f.place[0]}{f.place[1]}{f.place[2]}***",
        "remark": "", "buyer_memo": "", "tracking_number": "", "logistics_id": 0, "pay_type": "WEIXIN",
        "item_list": [{"goods_id": 500000001 + i, "sku_id": 900000001 + i, "outer_goods_id": f"SPU-{i:02d}",
                       "outer_id": f"SKU-{title}", "goods_name": title, "goods_spec": "默认", "goods_count": qty,
                       "goods_price": price / 100} for i, (title, price, qty) in enumerate(f.lines)],
        "gift_list": [],
    }


def _wechat(order: SimOrder, f: _Facts) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", "order": {
        "order_id": order.external_id, "status": _CODES["wechat"][f.state], "create_time": int(f.created),
        "update_time": int(f.modified), "openid": f"oAbc{order.number:06d}",
        "order_detail": {
            "product_infos": [{"product_id": str(10000001 + i), "sku_id": str(20000001 + i), "sku_cnt": qty,
                               "sale_price": price, "title": title, "on_aftersale_sku_cnt": 0,
                               "finish_aftersale_sku_cnt": 0, "sku_code": f"SKU-{title}", "market_price": price,
                               "real_price": price * qty, "out_sku_id": f"SKU-{title}", "is_free_gift": False}
                              for i, (title, price, qty) in enumerate(f.lines)],
            "price_info": {"product_price": f.total, "order_price": f.total, "freight": 0, "discounted_price": 0},
            "pay_info": {"pay_time": int(f.paid), "payment_method": 1} if f.paid is not None else {},
            "delivery_info": {"address_info": {
                "user_name": f"{f.surname}*", "postal_code": "000000", "province_name": f.place[0],
                "city_name": f.place[1], "county_name": f.place[2], "detail_info": f"{f.place[3]}***",
                "tel_number": f"138****{f.phone_tail}", "use_tel_number": 0},
                "delivery_product_info": [], "ship_done_time": int(f.shipped or 0)},
            "ext_info": {"customer_notes": "", "merchant_notes": ""}},
        "aftersale_detail": {"aftersale_order_list": [], "on_aftersale_order_cnt": 0}}}


def _shopify(order: SimOrder, f: _Facts) -> dict[str, Any]:
    financial = {"UNPAID": "pending", "CANCELLED": "voided", "CLOSED": "refunded"}.get(f.state, "paid")
    fulfilled = f.state in ("SHIPPED", "COMPLETED")
    cancelled = f.state in ("CANCELLED", "CLOSED")
    return {
        "id": int(order.external_id), "name": f"#{1000 + order.number}", "order_number": 1000 + order.number,
        "email": f"buyer{order.number}@example.com", "currency": "USD", "created_at": iso_text(f.created),
        "processed_at": iso_text(f.created), "updated_at": iso_text(f.modified),
        "cancelled_at": iso_text(f.modified) if cancelled else None, "cancel_reason": "customer" if cancelled else None,
        "closed_at": iso_text(f.completed) if f.completed is not None else None,
        "financial_status": financial, "fulfillment_status": "fulfilled" if fulfilled else None,
        "total_price": _yuan(f.total), "subtotal_price": _yuan(f.total), "total_line_items_price": _yuan(f.total),
        "total_discounts": "0.00", "total_tax": "0.00", "taxes_included": False,
        "total_shipping_price_set": {"shop_money": {"amount": "0.00", "currency_code": "USD"}},
        "note": None, "tags": "", "customer": {"id": 7000000000 + order.number, "first_name": "Ann", "last_name": "Lee"},
        "shipping_address": {"name": "Ann Lee", "address1": f"{order.number} Main St", "city": "Austin",
                             "province": "Texas", "province_code": "TX", "country": "United States",
                             "country_code": "US", "zip": "73301", "phone": "+1 512 555 0100"},
        "line_items": [{"id": 13000000000 + order.number * 10 + i, "variant_id": 44000000001 + i,
                        "product_id": 8000000001 + i, "sku": f"SKU-{i}", "title": f"Item {i}", "quantity": qty,
                        "price": _yuan(price), "total_discount": "0.00",
                        "fulfillment_status": "fulfilled" if fulfilled else None}
                       for i, (_title, price, qty) in enumerate(f.lines)],
        "fulfillments": [], "refunds": [],
    }


_RENDER = {"taobao": _taobao, "tmall": _taobao, "douyin": _douyin, "kuaishou": _kuaishou, "jd": _jd,
           "pdd": _pdd, "wechat": _wechat, "shopify": _shopify}


def render(world: World, order: SimOrder, index: int, start: float) -> dict[str, Any]:
    """The platform's JSON for `order` as of change `index`, the run having started at `start`."""
    return _RENDER[order.channel](order, _Facts(world, order, index, start))
