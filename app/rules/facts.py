"""Pure: the names a rule's `when` expression can read, and how they are computed.

Facts are top-level CEL variables with fixed types, so `rules check` can reject a
misspelt name with its position. `order` is the whole standard order as JSON (the
same shape as on `order-events`); it is converted only when a rule reads it, because
converting a nested map costs far more than the flat facts (docs/performance.md).
A fact whose value is unknown (the weight of an order in a channel without catalog
entries) is absent, so a rule reading it fails for that order and holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from app.address.model import NormalizedAddress
from app.catalog.catalog import Weighing
from app.domain.model import Order

__all__ = ["FACTS", "Fact", "compute_facts", "sample_facts"]


@dataclass(frozen=True, slots=True)
class Fact:
    name: str
    type: str
    doc: str
    sample: Any


FACTS: dict[str, Fact] = {f.name: f for f in (
    Fact("channel", "string", "channel code of the order (`taobao`, `tmall`, ...)", "taobao"),
    Fact("shop_id", "string", "the shop's id on its channel", "shop1"),
    Fact("status", "string", "SOM status (`PAID`, ...)", "PAID"),
    Fact("province", "string", "normalised province (`新疆维吾尔自治区`); empty when unresolved", "浙江省"),
    Fact("city", "string", "normalised city (`乌鲁木齐市`); empty when unresolved", "杭州市"),
    Fact("district", "string", "normalised district/county; empty when the city has none", "西湖区"),
    Fact("adcode", "string", "6-digit division code of the most specific level resolved", "330106"),
    Fact("address_resolved", "bool", "true when the address resolved to exactly one division", True),
    Fact("weight_g", "int", "total order weight in grams (absent when unknown)", 1200),
    Fact("line_weights_g", "list(int)", "weight of each line in grams, in line order (absent when unknown)",
         [1200]),
    Fact("line_count", "int", "number of order lines", 1),
    Fact("quantity", "int", "units across all lines", 2),
    Fact("skus", "list(string)", "platform SKU ids of the lines (`sku`)", ["5000001"]),
    Fact("outer_skus", "list(string)", "merchant SKU codes of the lines (`outer_sku`)", ["SKU-01"]),
    Fact("internal_skus", "list(string)", "internal SKUs from the catalog (mapped lines only)", ["TS-RED-M"]),
    Fact("categories", "list(string)", "catalog categories of the lines, sorted, distinct", ["apparel"]),
    Fact("warehouses", "list(string)", "warehouses that stock every line, per the catalog", ["WH-HZ"]),
    Fact("total_fen", "int", "order total in fen (minor units)", 19800),
    Fact("paid_fen", "int", "amount paid in fen", 18800),
    Fact("shipping_fen", "int", "shipping fee in fen", 0),
    Fact("discount_fen", "int", "discount in fen", 1000),
    Fact("currency", "string", "currency code (`CNY`)", "CNY"),
    Fact("tags", "list(string)", "the order's tags (`presale` for Taobao presale orders)", []),
    Fact("buyer_memo", "string", "the buyer's message", ""),
    Fact("seller_memo", "string", "the seller's memo", ""),
    Fact("order", "map", "the whole standard order as JSON (`order.receiver.address.town`, ...)", {}),
)}

#: facts that are plain strings: the only ones the pre-filter indexes on (rules/guards.py)
STRING_FACTS = frozenset(name for name, f in FACTS.items() if f.type == "string")


def sample_facts() -> dict[str, Any]:
    """A typical order's facts, for the trial evaluation `rules check` does."""
    values = {name: f.sample for name, f in FACTS.items()}
    values["order"] = {"oli": "tb-shop1-1", "channel": "taobao", "status": "PAID", "tags": [], "lines": [],
                       "receiver": {"address": {"province": "浙江省", "city": "杭州市", "district": "西湖区",
                                                "town": "", "detail": "", "adcode": "330106"}},
                       "amounts": {"currency": "CNY", "total": 19800, "paid": 18800}}
    return values


def compute_facts(order: Order, weighing: Weighing, address: NormalizedAddress,
                  *, names: frozenset[str] | None = None) -> dict[str, Any]:
    """The facts of one order. With `names`, only those (the ones some rule reads) are computed."""

    def want(name: str) -> bool:
        return names is None or name in names

    lines = order.lines
    a = order.amounts
    facts: dict[str, Any] = {}
    simple = {
        "channel": lambda: order.channel, "shop_id": lambda: order.shop_id, "status": lambda: order.status.value,
        "province": lambda: address.province, "city": lambda: address.city,
        "district": lambda: address.district, "adcode": lambda: address.adcode,
        "address_resolved": lambda: address.resolved,
        "line_count": lambda: len(lines), "quantity": lambda: sum(line.quantity for line in lines),
        "skus": lambda: [line.sku for line in lines],
        "outer_skus": lambda: [line.outer_sku for line in lines if line.outer_sku],
        "internal_skus": lambda: weighing.internal_skus, "categories": lambda: weighing.categories,
        "warehouses": lambda: list(weighing.warehouses),
        "total_fen": lambda: a.total, "paid_fen": lambda: a.paid, "shipping_fen": lambda: a.shipping,
        "discount_fen": lambda: a.discount, "currency": lambda: a.currency,
        "tags": lambda: list(order.tags), "buyer_memo": lambda: order.buyer_memo,
        "seller_memo": lambda: order.seller_memo,
    }
    for name, value in simple.items():
        if want(name):
            facts[name] = value()
    if weighing.total_weight_g is not None:
        if want("weight_g"):
            facts["weight_g"] = weighing.total_weight_g
        if want("line_weights_g"):
            facts["line_weights_g"] = [lw.weight_g for lw in weighing.lines]
    if want("order"):
        facts["order"] = orjson.loads(orjson.dumps(order))
    return facts
