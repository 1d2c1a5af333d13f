"""Pure: Taobao / Tmall (TOP API) trade JSON → standard order model.

Input: the ``trade`` object of ``taobao.trade.fullinfo.get`` / ``taobao.trade.get``, bare
or still wrapped in its API response. Reference: docs channels.md §2 (Taobao/Tmall).

- Status: `STATUS_TABLE` maps every TOP trade status code; an unlisted code raises
  `UnknownStatusError` (never guessed). ``PAID_FORBID_CONSIGN`` is PAID plus a channel
  hold. A presale (``type == "step"``) whose balance is unpaid is PENDING_PAYMENT whatever
  ``status`` says, unless the trade is already over (CANCELLED/CLOSED).
- Refund: each line's ``refund_status`` via `REFUND_TABLE`, aggregated by
  `aggregate_refund`.
- Money: yuan strings → fen. Times: Asia/Shanghai ``yyyy-MM-dd HH:mm:ss`` → UTC.
- Errors name the field path, e.g. ``taobao: trade.orders.order[0].num: expected an
  integer, got 'two'``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from app.channels.convert import integer, optional_yuan_to_fen, shanghai_time
from app.domain.errors import AdapterError, UnknownStatusError
from app.domain.identity import make_oli
from app.domain.model import (
    TERMINAL_STATUSES,
    Address,
    Amounts,
    Buyer,
    Hold,
    HoldSource,
    Line,
    Order,
    OrderStatus,
    Receiver,
    RefundStatus,
)

__all__ = [
    "FORBID_CONSIGN",
    "PRESALE_UNPAID_STEPS",
    "REFUND_TABLE",
    "STATUS_TABLE",
    "STEP_TRADE_STATUSES",
    "TaobaoAdapter",
    "aggregate_refund",
]

#: TOP trade status (trade and each ``orders.order[].status``) → SOM status. channels.md §2.2.
STATUS_TABLE: dict[str, OrderStatus] = {
    "TRADE_NO_CREATE_PAY": OrderStatus.PENDING_PAYMENT,  # 没有创建支付宝交易
    "WAIT_BUYER_PAY": OrderStatus.PENDING_PAYMENT,  # 等待买家付款
    "PAY_PENDING": OrderStatus.PENDING_PAYMENT,  # 国际信用卡支付付款确认中
    "WAIT_PRE_AUTH_CONFIRM": OrderStatus.PENDING_PAYMENT,  # 0元购合约中
    "PAID_FORBID_CONSIGN": OrderStatus.PAID,  # 已付款但禁止发货 (+ channel hold)
    "WAIT_SELLER_SEND_GOODS": OrderStatus.PAID,  # 等待卖家发货
    "SELLER_CONSIGNED_PART": OrderStatus.PARTIALLY_SHIPPED,  # 卖家部分发货
    "WAIT_BUYER_CONFIRM_GOODS": OrderStatus.SHIPPED,  # 等待买家确认收货
    "TRADE_BUYER_SIGNED": OrderStatus.DELIVERED,  # 买家已签收（货到付款专用）
    "TRADE_FINISHED": OrderStatus.COMPLETED,  # 交易成功
    "TRADE_CLOSED": OrderStatus.CLOSED,  # 付款以后用户退款成功，交易自动关闭
    "TRADE_CLOSED_BY_TAOBAO": OrderStatus.CANCELLED,  # 付款以前，卖家或买家主动关闭交易
}

#: The status that is PAID but must not ship (拼团中 / 发货强管控).
FORBID_CONSIGN = "PAID_FORBID_CONSIGN"

#: ``orders.order[].refund_status`` → refund state of that line. channels.md §2.3.
REFUND_TABLE: dict[str, RefundStatus] = {
    "NO_REFUND": RefundStatus.NONE,  # 没有退款
    "WAIT_SELLER_AGREE": RefundStatus.REQUESTED,  # 买家已申请退款，等待卖家同意
    "WAIT_BUYER_RETURN_GOODS": RefundStatus.REQUESTED,  # 卖家已同意，等待买家退货
    "WAIT_SELLER_CONFIRM_GOODS": RefundStatus.REQUESTED,  # 买家已退货，等待卖家确认收货
    "SELLER_REFUSE_BUYER": RefundStatus.REJECTED_OR_CLOSED,  # 卖家拒绝退款
    "CLOSED": RefundStatus.REJECTED_OR_CLOSED,  # 退款关闭
    "SUCCESS": RefundStatus.REFUNDED,  # 退款成功
}

#: Presale ``step_trade_status`` codes; the first two mean the balance is not paid yet.
STEP_TRADE_STATUSES = frozenset({
    "FRONT_NOPAID_FINAL_NOPAID",  # 定金未付尾款未付
    "FRONT_PAID_FINAL_NOPAID",  # 定金已付尾款未付
    "FRONT_PAID_FINAL_PAID",  # 定金和尾款都付
})
PRESALE_UNPAID_STEPS = frozenset({"FRONT_NOPAID_FINAL_NOPAID", "FRONT_PAID_FINAL_NOPAID"})

#: API responses that wrap the trade object: ``{"<name>": {"trade": {...}}}``.
_RESPONSE_WRAPPERS = ("trade_fullinfo_get_response", "trade_get_response")


def aggregate_refund(line_refunds: Sequence[RefundStatus]) -> RefundStatus:
    """The order's refund state from its lines' states.

    In progress anywhere → REQUESTED (it must block shipping even next to a finished
    refund); else every line refunded → REFUNDED; some → PARTIAL_REFUNDED; else a refund
    was refused or closed on some line → REJECTED_OR_CLOSED; else (no line, or no line
    with a refund) → NONE.
    """
    if RefundStatus.REQUESTED in line_refunds:
        return RefundStatus.REQUESTED
    if line_refunds and all(r is RefundStatus.REFUNDED for r in line_refunds):
        return RefundStatus.REFUNDED
    if RefundStatus.REFUNDED in line_refunds:
        return RefundStatus.PARTIAL_REFUNDED
    if RefundStatus.REJECTED_OR_CLOSED in line_refunds:
        return RefundStatus.REJECTED_OR_CLOSED
    return RefundStatus.NONE


# ---------------------------------------------------------------- field readers


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AdapterError(f"{path}: expected an object, got {type(value).__name__}")
    return value


def _text(obj: Mapping[str, Any], key: str, path: str) -> str:
    """An optional text field: missing/null → ""; numbers (ids) → their decimal text."""
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise AdapterError(f"{path}.{key}: expected a string, got {_show(value)}")


def _id(obj: Mapping[str, Any], keys: tuple[str, ...], path: str) -> str:
    """The first non-empty id among ``keys`` (string, or an integer possibly beyond 2**53)."""
    for key in keys:
        value = obj.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            # a float id has already lost digits: refuse rather than invent an order number
            raise AdapterError(f"{path}.{key}: expected a string or integer id, got {_show(value)}")
        text = str(value).strip()
        if text:
            return text
    others = f" (nor {', '.join(keys[:-1])})" if len(keys) > 1 else ""
    raise AdapterError(f"{path}.{keys[-1]}: missing{others}")


def _money(obj: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> int:
    value = optional_yuan_to_fen(obj.get(key), f"{path}.{key}")
    if value is None:
        if required:
            raise AdapterError(f"{path}.{key}: missing")
        return 0
    return value


def _time(obj: Mapping[str, Any], key: str, path: str) -> datetime | None:
    return shanghai_time(obj.get(key), f"{path}.{key}")


def _code(obj: Mapping[str, Any], key: str, path: str, *, default: str | None = None) -> str:
    value = obj.get(key)
    if value is None or value == "":
        if default is None:
            raise AdapterError(f"{path}.{key}: missing")
        return default
    if not isinstance(value, str):
        raise AdapterError(f"{path}.{key}: expected a status code string, got {_show(value)}")
    return value


# ---------------------------------------------------------------- the adapter


def _unwrap(payload: object) -> Mapping[str, Any]:
    root = _object(payload, "payload")
    if "error_response" in root:
        err = root["error_response"]
        detail = _show(err)
        if isinstance(err, Mapping):
            parts = [str(err.get(k)) for k in ("code", "msg", "sub_code", "sub_msg") if err.get(k)]
            detail = " ".join(parts) or detail
        raise AdapterError(f"error_response: the API call failed: {detail}")
    for wrapper in _RESPONSE_WRAPPERS:
        if wrapper in root:
            response = _object(root[wrapper], wrapper)
            if "trade" not in response:
                raise AdapterError(f"{wrapper}.trade: missing")
            return _object(response["trade"], "trade")
    return root


def _status(trade: Mapping[str, Any]) -> tuple[str, OrderStatus]:
    code = _code(trade, "status", "trade")
    try:
        return code, STATUS_TABLE[code]
    except KeyError:
        raise UnknownStatusError(f"trade.status: unknown status code {code!r}") from None


def _line_entries(trade: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """The raw line objects and the path they live at (``orders.order`` or ``orders``)."""
    orders = trade.get("orders")
    if orders is None:
        return "trade.orders", []
    if isinstance(orders, Mapping):
        entries = orders.get("order")
        path = "trade.orders.order"
        if entries is None:
            return path, []
    else:
        entries, path = orders, "trade.orders"
    if not isinstance(entries, list):
        raise AdapterError(f"{path}: expected a list, got {type(entries).__name__}")
    return path, entries


def _line(entry: object, path: str) -> tuple[Line, RefundStatus]:
    o = _object(entry, path)
    quantity = integer(o.get("num"), f"{path}.num")
    if quantity <= 0:
        raise AdapterError(f"{path}.num: expected a positive quantity, got {_show(o.get('num'))}")
    amount = None
    for key in ("divide_order_fee", "payment", "total_fee"):
        amount = optional_yuan_to_fen(o.get(key), f"{path}.{key}")
        if amount is not None:
            break
    if amount is None:
        raise AdapterError(f"{path}.total_fee: missing (no divide_order_fee, payment or total_fee)")
    refund_code = _code(o, "refund_status", path, default="NO_REFUND")
    try:
        refund = REFUND_TABLE[refund_code]
    except KeyError:
        raise UnknownStatusError(
            f"{path}.refund_status: unknown refund status code {refund_code!r}") from None
    line = Line(
        line_id=_id(o, ("oid_str", "oid"), path),
        sku=_id(o, ("sku_id", "num_iid"), path),
        outer_sku=_text(o, "outer_sku_id", path) or _text(o, "outer_iid", path),
        title=_text(o, "title", path),
        quantity=quantity,
        unit_price=_money(o, "price", path, required=True),
        amount=amount,
    )
    return line, refund


def _receiver(trade: Mapping[str, Any]) -> Receiver:
    p = "trade"
    name = _text(trade, "receiver_name", p)
    phone = _text(trade, "receiver_mobile", p) or _text(trade, "receiver_phone", p)
    city = _text(trade, "receiver_city", p)
    district = _text(trade, "receiver_district", p)
    if not city and district:
        # province-managed county-level city (河南 济源市): the platform puts it in district
        city, district = district, ""
    detail = _text(trade, "receiver_address", p)
    masked = bool(_text(trade, "oaid", p)) or any("*" in v for v in (name, phone, detail))
    return Receiver(
        name=name,
        phone=phone,
        address=Address(
            country=_text(trade, "receiver_country", p) or "CN",
            province=_text(trade, "receiver_state", p),
            city=city,
            district=district,
            town=_text(trade, "receiver_town", p),
            detail=detail,
            postcode=_text(trade, "receiver_zip", p),
        ),
        masked=masked,
    )


class TaobaoAdapter:
    """TOP trade → `Order`. One class serves Taobao (``"taobao"``) and Tmall (``"tmall"``)."""

    def __init__(self, channel: str = "taobao") -> None:
        self.channel = channel

    def __repr__(self) -> str:
        return f"TaobaoAdapter(channel={self.channel!r})"

    def adapt(self, payload: dict[str, Any], *, shop_id: str) -> Order:
        """Map one trade (bare or API-wrapped). Raises `AdapterError` / `UnknownStatusError`."""
        try:
            return self._adapt(payload, shop_id)
        except AdapterError as e:
            raise AdapterError(f"{self.channel}: {e}") from e
        except UnknownStatusError as e:
            raise UnknownStatusError(f"{self.channel}: {e}") from e

    def _adapt(self, payload: object, shop_id: str) -> Order:
        if not isinstance(shop_id, str) or not shop_id:
            raise AdapterError(f"shop_id: must be a non-empty string, got {_show(shop_id)}")
        trade = _unwrap(payload)
        external_id = _id(trade, ("tid_str", "tid"), "trade")
        channel_status, status = _status(trade)

        updated_at = _time(trade, "modified", "trade")
        if updated_at is None:
            raise AdapterError("trade.modified: missing")

        tags: tuple[str, ...] = ()
        if _text(trade, "type", "trade") == "step":
            tags = ("presale",)
        step = _code(trade, "step_trade_status", "trade", default="")
        if step:
            if step not in STEP_TRADE_STATUSES:
                raise UnknownStatusError(
                    f"trade.step_trade_status: unknown presale status code {step!r}")
            if step in PRESALE_UNPAID_STEPS and status not in TERMINAL_STATUSES:
                status = OrderStatus.PENDING_PAYMENT  # balance unpaid: not shippable yet

        holds: tuple[Hold, ...] = ()
        if channel_status == FORBID_CONSIGN:
            holds = (Hold("platform_forbid_consign",
                          f"{self.channel} status {FORBID_CONSIGN}: paid but shipping is forbidden",
                          HoldSource.CHANNEL),)

        lines_path, entries = _line_entries(trade)
        adapted = [_line(entry, f"{lines_path}[{i}]") for i, entry in enumerate(entries)]

        return Order(
            oli=make_oli(self.channel, shop_id, external_id),
            version=0,
            channel=self.channel,
            shop_id=shop_id,
            external_id=external_id,
            status=status,
            channel_status=channel_status,
            updated_at=updated_at,
            refund_status=aggregate_refund([refund for _, refund in adapted]),
            buyer=Buyer(id=_text(trade, "buyer_open_uid", "trade"),
                        nick=_text(trade, "buyer_nick", "trade")),
            receiver=_receiver(trade),
            lines=tuple(line for line, _ in adapted),
            amounts=Amounts(
                currency="CNY",
                total=_money(trade, "total_fee", "trade", required=True),
                paid=_money(trade, "payment", "trade", required=True),
                shipping=_money(trade, "post_fee", "trade"),
                discount=_money(trade, "discount_fee", "trade"),
            ),
            created_at=_time(trade, "created", "trade"),
            paid_at=_time(trade, "pay_time", "trade"),
            buyer_memo=_text(trade, "buyer_message", "trade"),
            seller_memo=_text(trade, "seller_memo", "trade"),
            tags=tags,
            holds=holds,
        )
