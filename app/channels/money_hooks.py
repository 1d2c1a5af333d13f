"""Pure: hooks for money a mapping file cannot compute (arithmetic, a currency's minor unit).

- ``line_amount_from_price``: a line's amount is its unit price × quantity, for platforms
  whose lines carry no amount of their own (JD ``itemInfoList``, Pinduoduo ``item_list``).
  JMESPath has no multiplication.
- ``shopify_money``: Shopify sends decimal strings in the shop's currency; the SOM wants
  integer minor units of *that* currency, whose exponent (USD 2, JPY 0, KWD 3) comes
  from ISO 4217 by the order's ``currency`` — a value a per-field transform cannot see.
  The hook also nets each line's discounts out of its amount (price × quantity − discounts).

Registered on import (app/channels/hooks.py imports this module).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from iso4217 import Currency

from app.channels.convert import MAX_FEN
from app.channels.hooks import HookContext, register_hook
from app.channels.transforms import show
from app.domain.errors import AdapterError
from app.domain.model import Amounts, Line, Order

__all__ = ["currency_exponent", "line_amount_from_price", "minor_units", "shopify_money"]

_PLAIN = re.compile(r"(\d{1,15})(?:\.(\d*))?")


@cache
def currency_exponent(code: str) -> int:
    """The ISO 4217 minor-unit exponent of ``code`` (``"USD"`` → 2, ``"JPY"`` → 0)."""
    try:
        exponent = Currency(code.upper()).exponent
    except ValueError:
        raise AdapterError(f"unknown ISO 4217 currency code {code!r}") from None
    if exponent is None:  # funds and metals (XAU, XDR) have no minor unit
        raise AdapterError(f"currency {code!r} has no minor unit")
    return int(exponent)


def minor_units(value: object, exponent: int, field: str) -> int:
    """Exact major-unit decimal (``"29.95"``, ``"3700"``, ``12.5``) → integer minor units.

    More decimals than the currency has, negatives, non-numbers and booleans are refused.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise AdapterError(f"{field}: expected a decimal amount, got {show(value)}")
    text = repr(value) if isinstance(value, float) else str(value).strip()
    plain = _PLAIN.fullmatch(text)
    if plain:  # the common "29.95": integer arithmetic, the same result as the Decimal path below
        whole, decimals = plain.group(1), (plain.group(2) or "").rstrip("0")
        if len(decimals) <= exponent:
            fast: int = int(whole) * pow(10, exponent) + int(decimals.ljust(exponent, "0") or "0")
            if fast < MAX_FEN:
                return fast
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise AdapterError(f"{field}: expected a decimal amount, got {show(value)}") from None
    if not amount.is_finite() or amount.is_signed() and amount != 0:
        raise AdapterError(f"{field}: expected a non-negative amount, got {show(value)}")
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise AdapterError(f"{field}: more than {exponent} decimal places for this currency: {show(value)}")
    result = int(scaled)
    if result >= MAX_FEN:
        raise AdapterError(f"{field}: amount out of range: {show(value)}")
    return result


@register_hook("line_amount_from_price")
def line_amount_from_price(source: Mapping[str, Any], order: Order, context: HookContext) -> Order:
    """Every line's amount = unit price × quantity (a gift at price 0 stays 0)."""
    lines = tuple(_with_money(line, line.unit_price, line.unit_price * line.quantity) for line in order.lines)
    return replace(order, lines=lines)


def _with_money(line: Line, unit_price: int, amount: int) -> Line:
    # `dataclasses.replace` costs as much as the rest of a line's mapping: build it directly
    return Line(line.line_id, line.sku, line.outer_sku, line.title, line.quantity, unit_price, amount,
                line.weight_g)


def _optional(obj: Mapping[str, Any], key: str, exponent: int, field: str) -> int:
    value = obj.get(key)
    if value is None or value == "":
        return 0
    return minor_units(value, exponent, f"{field}.{key}")


def _required(obj: Mapping[str, Any], key: str, exponent: int, field: str) -> int:
    value = obj.get(key)
    if value is None or value == "":
        raise AdapterError(f"{field}.{key}: missing")
    return minor_units(value, exponent, f"{field}.{key}")


def _shipping(order_obj: Mapping[str, Any], exponent: int, name: str) -> int:
    price_set = order_obj.get("total_shipping_price_set")
    if price_set is None:
        return 0
    field = f"{name}.total_shipping_price_set.shop_money"
    shop_money = price_set.get("shop_money") if isinstance(price_set, Mapping) else None
    if not isinstance(shop_money, Mapping):
        raise AdapterError(f"{field}: expected an object, got {show(shop_money)}")
    return _optional(shop_money, "amount", exponent, field)


def _line_discount(item: Mapping[str, Any], exponent: int, field: str) -> int:
    allocations = item.get("discount_allocations")
    if allocations:
        if not isinstance(allocations, Sequence) or isinstance(allocations, str):
            raise AdapterError(f"{field}.discount_allocations: expected a list, got {show(allocations)}")
        total = 0
        for i, allocation in enumerate(allocations):
            where = f"{field}.discount_allocations[{i}]"
            if not isinstance(allocation, Mapping):
                raise AdapterError(f"{where}: expected an object, got {show(allocation)}")
            total += _required(allocation, "amount", exponent, where)
        return total
    return _optional(item, "total_discount", exponent, field)


def _shopify_line(line: Line, item: object, exponent: int, field: str) -> Line:
    if not isinstance(item, Mapping):
        raise AdapterError(f"{field}: expected an object, got {show(item)}")
    unit_price = _required(item, "price", exponent, field)
    gross = unit_price * line.quantity
    discount = _line_discount(item, exponent, field)
    if discount > gross:
        raise AdapterError(f"{field}: discounts {discount} exceed price × quantity {gross} (minor units)")
    return _with_money(line, unit_price, gross - discount)


@register_hook("shopify_money")
def shopify_money(source: Mapping[str, Any], order: Order, context: HookContext) -> Order:
    """Amounts and line prices in minor units of the order's ``currency`` (ISO 4217)."""
    name = context.name
    currency = order.amounts.currency
    try:
        exponent = currency_exponent(currency)
    except AdapterError as exc:
        raise AdapterError(f"{name}.currency: {exc}") from None
    items = source.get("line_items") or []
    if len(items) != len(order.lines):  # the mapping read its lines from line_items
        raise AdapterError(f"{name}.line_items: expected {len(order.lines)} line items, got {len(items)}")
    lines = tuple(_shopify_line(line, item, exponent, f"{name}.line_items[{i}]")
                  for i, (line, item) in enumerate(zip(order.lines, items, strict=True)))
    amounts = Amounts(
        currency=currency,
        total=_required(source, "total_line_items_price", exponent, name),
        paid=_required(source, "total_price", exponent, name),
        shipping=_shipping(source, exponent, name),
        discount=_optional(source, "total_discounts", exponent, name),
    )
    return replace(order, amounts=amounts, lines=lines)
