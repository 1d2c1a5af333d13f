"""Pure: the names a rule's `when` expression can read, and how they are computed.

Facts are top-level CEL variables with fixed types, so `rules check` can reject a
misspelt name with its position. `order` is the whole standard order as JSON (the
same shape as on `order-events`); it is converted only when a rule reads it, because
converting a nested map costs far more than the flat facts (docs/performance.md).
A fact whose value is unknown (the weight of an order in a channel without catalog
entries) is absent, so a rule reading it fails for that order and holds it.
"""

from __future__ import annotations

from collections.abc import Callable
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

def sample_facts() -> dict[str, Any]:
    """A typical order's facts, for the trial evaluation `rules check` does."""
    values = {name: f.sample for name, f in FACTS.items()}
    values["order"] = {"oli": "tb-shop1-1", "channel": "taobao", "status": "PAID", "tags": [], "lines": [],
                       "receiver": {"address": {"province": "浙江省", "city": "杭州市", "district": "西湖区",
                                                "town": "", "detail": "", "adcode": "330106"}},
                       "amounts": {"currency": "CNY", "total": 19800, "paid": 18800}}
    return values


_Getter = Callable[[Order, Weighing, NormalizedAddress], Any]
_GETTERS: dict[str, _Getter] = {
    "channel": lambda o, w, a: o.channel, "shop_id": lambda o, w, a: o.shop_id,
    "status": lambda o, w, a: o.status.value,
    "province": lambda o, w, a: a.province, "city": lambda o, w, a: a.city,
    "district": lambda o, w, a: a.district, "adcode": lambda o, w, a: a.adcode,
    "address_resolved": lambda o, w, a: a.resolved,
    "line_count": lambda o, w, a: len(o.lines), "quantity": lambda o, w, a: sum(x.quantity for x in o.lines),
    "skus": lambda o, w, a: [x.sku for x in o.lines],
    "outer_skus": lambda o, w, a: [x.outer_sku for x in o.lines if x.outer_sku],
    "internal_skus": lambda o, w, a: w.internal_skus, "categories": lambda o, w, a: w.categories,
    "warehouses": lambda o, w, a: list(w.warehouses),
    "total_fen": lambda o, w, a: o.amounts.total, "paid_fen": lambda o, w, a: o.amounts.paid,
    "shipping_fen": lambda o, w, a: o.amounts.shipping, "discount_fen": lambda o, w, a: o.amounts.discount,
    "currency": lambda o, w, a: o.amounts.currency, "tags": lambda o, w, a: list(o.tags),
    "buyer_memo": lambda o, w, a: o.buyer_memo, "seller_memo": lambda o, w, a: o.seller_memo,
    "order": lambda o, w, a: orjson.loads(orjson.dumps(o)),
}
#: facts absent when the weight is unknown
_WEIGHTS: dict[str, _Getter] = {
    "weight_g": lambda o, w, a: w.total_weight_g,
    "line_weights_g": lambda o, w, a: [x.weight_g for x in w.lines],
}
_ALL = frozenset(_GETTERS) | frozenset(_WEIGHTS)


def compute_facts(order: Order, weighing: Weighing, address: NormalizedAddress,
                  *, names: frozenset[str] | None = None) -> dict[str, Any]:
    """The facts of one order. With `names`, only those (the ones some rule reads) are computed."""
    wanted = _ALL if names is None else names
    facts = {name: get(order, weighing, address) for name, get in _GETTERS.items() if name in wanted}
    if weighing.total_weight_g is not None:
        facts.update((name, get(order, weighing, address)) for name, get in _WEIGHTS.items() if name in wanted)
    return facts
