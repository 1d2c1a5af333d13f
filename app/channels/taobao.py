"""Pure: Taobao / Tmall (TOP API) trade JSON → standard order model.

The mapping lives in the built-in mapping file app/channels/mappings/taobao.yaml (plus
the `taobao_presale` hook); `TaobaoAdapter` is that mapping under a channel name
(``"taobao"`` or ``"tmall"``). The status and refund tables are read from the file:
`STATUS_TABLE`, `REFUND_TABLE` (kept for callers and tests). docs/channels.md §Taobao.
"""

from __future__ import annotations

from typing import Any

from app.channels.builtin import builtin_adapter
from app.channels.engine import MappingAdapter
from app.channels.hooks import TAOBAO_STEP_STATUSES
from app.channels.refunds import aggregate_refund
from app.domain.model import Order, OrderStatus, RefundStatus

__all__ = [
    "FORBID_CONSIGN",
    "PRESALE_UNPAID_STEPS",
    "STEP_TRADE_STATUSES",
    "TaobaoAdapter",
    "aggregate_refund",
]  # and, read lazily from the mapping file: STATUS_TABLE, REFUND_TABLE

#: The status that is PAID but must not ship (拼团中 / 发货强管控).
FORBID_CONSIGN = "PAID_FORBID_CONSIGN"
STEP_TRADE_STATUSES = frozenset(TAOBAO_STEP_STATUSES)
PRESALE_UNPAID_STEPS = frozenset(step for step, paid in TAOBAO_STEP_STATUSES.items() if not paid)


def __getattr__(name: str) -> Any:
    # read from the mapping file on first use, not at import
    mapping = builtin_adapter("taobao")
    if name == "STATUS_TABLE":
        table: dict[str, OrderStatus] = {code: e.status for code, e in mapping.status_table.items()}
        return table
    if name == "REFUND_TABLE":
        assert mapping.lines_spec is not None and mapping.lines_spec.refund is not None
        refunds: dict[str, RefundStatus] = dict(mapping.lines_spec.refund.table)
        return refunds
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class TaobaoAdapter:
    """TOP trade → `Order`. One mapping serves Taobao (``"taobao"``) and Tmall (``"tmall"``)."""

    def __init__(self, channel: str = "taobao") -> None:
        self.channel = channel
        self._mapping: MappingAdapter = builtin_adapter("taobao").with_channel(channel)

    def __repr__(self) -> str:
        return f"TaobaoAdapter(channel={self.channel!r})"

    @property
    def source(self) -> str:
        return self._mapping.source

    def adapt(self, payload: dict[str, Any], *, shop_id: str) -> Order:
        """Map one trade (bare or API-wrapped). Raises `AdapterError` / `UnknownStatusError`."""
        return self._mapping.adapt(payload, shop_id=shop_id)
