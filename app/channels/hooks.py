"""Pure: the Python hooks a mapping file may name, for formats a mapping cannot express.

A hook runs after the declarative mapping: ``hook(source, order, context) -> Order`` gets
the platform's order object (already unwrapped from its API response) and the mapped
`Order`, and returns the order to use (``dataclasses.replace``). It raises `AdapterError`
or `UnknownStatusError` naming the field, like the rest of an adapter, and does no I/O.
A mapping file lists hooks by name (``hooks: [taobao_presale]``); an unknown name is
refused when the file is loaded. Keep hooks few and small: everything a mapping file
can say belongs in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from app.channels.transforms import code_text
from app.domain.errors import UnknownStatusError
from app.domain.model import TERMINAL_STATUSES, Order, OrderStatus

__all__ = ["HOOKS", "Hook", "HookContext", "register_hook"]


@dataclass(frozen=True, slots=True)
class HookContext:
    channel: str
    #: how errors name the order object (``trade``, ``shop_order``)
    name: str


Hook = Callable[[Mapping[str, Any], Order, HookContext], Order]

#: hook name → function. Register with `register_hook`.
HOOKS: dict[str, Hook] = {}


def register_hook(name: str) -> Callable[[Hook], Hook]:
    def add(func: Hook) -> Hook:
        if name in HOOKS:
            raise ValueError(f"a hook named {name!r} is already registered")
        HOOKS[name] = func
        return func

    return add


# ---------------------------------------------------------------- built-in hooks

#: Taobao presale ``step_trade_status``; the first two mean the balance is not paid yet.
TAOBAO_STEP_STATUSES = {
    "FRONT_NOPAID_FINAL_NOPAID": False,  # 定金未付尾款未付
    "FRONT_PAID_FINAL_NOPAID": False,  # 定金已付尾款未付
    "FRONT_PAID_FINAL_PAID": True,  # 定金和尾款都付
}


@register_hook("taobao_presale")
def taobao_presale(source: Mapping[str, Any], order: Order, context: HookContext) -> Order:
    """A presale whose balance is unpaid is PENDING_PAYMENT whatever ``status`` says, unless
    the trade is already over; an unknown ``step_trade_status`` is refused.

    A hook because it overrides the status table by a second code, and only for
    non-terminal statuses, and must refuse unknown values of that second code.
    """
    raw = source.get("step_trade_status")
    if raw is None or raw == "":
        return order
    step = code_text(raw, f"{context.name}.step_trade_status")
    if step not in TAOBAO_STEP_STATUSES:
        raise UnknownStatusError(
            f"{context.name}.step_trade_status: unknown presale status code {step!r}")
    if not TAOBAO_STEP_STATUSES[step] and order.status not in TERMINAL_STATUSES:
        return replace(order, status=OrderStatus.PENDING_PAYMENT)  # balance unpaid: not shippable yet
    return order


# hooks kept in their own modules register themselves when imported
import app.channels.money_hooks  # noqa: E402, F401  (line_amount_from_price, shopify_money)
