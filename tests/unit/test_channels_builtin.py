"""The built-in mapping files against the platforms' documented status codes (reference §3, §4, §7)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.channels import builtin_registry
from app.domain.errors import UnknownStatusError
from app.domain.model import OrderStatus, RefundStatus

S, R = OrderStatus, RefundStatus
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REGISTRY = builtin_registry()

#: code → (status, status when paid, hold?) as the reference documents them
DOCUMENTED: dict[str, dict[str, tuple[OrderStatus, OrderStatus, bool]]] = {
    "douyin": {
        "1": (S.PENDING_PAYMENT, S.PENDING_PAYMENT, False), "105": (S.PAID, S.PAID, True),
        "2": (S.PAID, S.PAID, False), "101": (S.PARTIALLY_SHIPPED, S.PARTIALLY_SHIPPED, False),
        "3": (S.SHIPPED, S.SHIPPED, False), "5": (S.COMPLETED, S.COMPLETED, False),
        "4": (S.CANCELLED, S.CLOSED, False),
    },
    "kuaishou": {
        "10": (S.PENDING_PAYMENT, S.PENDING_PAYMENT, False), "30": (S.PAID, S.PAID, False),
        "40": (S.SHIPPED, S.SHIPPED, False), "50": (S.DELIVERED, S.DELIVERED, False),
        "70": (S.COMPLETED, S.COMPLETED, False), "80": (S.CANCELLED, S.CLOSED, False),
    },
    "wechat": {
        "10": (S.PENDING_PAYMENT, S.PENDING_PAYMENT, False), "12": (S.PAID, S.PAID, True),
        "13": (S.PAID, S.PAID, True), "20": (S.PAID, S.PAID, False),
        "21": (S.PARTIALLY_SHIPPED, S.PARTIALLY_SHIPPED, False), "30": (S.SHIPPED, S.SHIPPED, False),
        "100": (S.COMPLETED, S.COMPLETED, False), "200": (S.CLOSED, S.CLOSED, False),
        "250": (S.CANCELLED, S.CANCELLED, False),
    },
}
DOCUMENTED_REFUNDS = {
    "douyin": {"0": R.NONE, "1": R.REQUESTED, "2": R.REQUESTED, "3": R.REFUNDED, "4": R.REJECTED_OR_CLOSED},
    "kuaishou": {**{c: R.REQUESTED for c in ("10", "11", "20", "21", "22", "23", "30", "40", "45", "50")},
                 "60": R.REFUNDED, "70": R.REJECTED_OR_CLOSED},
}


def test_status_tables_hold_exactly_the_documented_codes() -> None:
    for channel, codes in DOCUMENTED.items():
        table = REGISTRY.get(channel).status_table
        assert set(table) == set(codes), channel
        for code, (status, if_paid, hold) in codes.items():
            entry = table[code]
            assert entry.status is status, (channel, code)
            assert (entry.if_paid or entry.status) is if_paid, (channel, code)
            assert bool(entry.hold) is hold, (channel, code)
            assert entry.meaning, (channel, code)


def test_refund_tables_hold_the_documented_codes() -> None:
    douyin = REGISTRY.get("douyin").lines_spec
    assert douyin is not None and douyin.refund is not None
    assert dict(douyin.refund.table) == DOCUMENTED_REFUNDS["douyin"]
    kuaishou = REGISTRY.get("kuaishou").refund_spec
    assert kuaishou is not None and dict(kuaishou.table) == DOCUMENTED_REFUNDS["kuaishou"]


STATUS_FIELD = {"douyin": ("order_status",), "kuaishou": ("orderBaseInfo", "status"), "wechat": ("status",)}
BASE = {"douyin": "missing_optional", "kuaishou": "missing_optional", "wechat": "missing_optional"}


def _with_status(channel: str, code: str, paid: bool) -> dict[str, Any]:
    payload = json.loads((FIXTURES / channel / f"{BASE[channel]}.json").read_text(encoding="utf-8"))
    *parents, last = STATUS_FIELD[channel]
    target = payload
    for key in parents:
        target = target[key]
    target[last] = int(code)
    if not paid:
        if channel == "douyin":
            payload["pay_time"] = 0
        elif channel == "kuaishou":
            payload["orderBaseInfo"]["payTime"] = 0
        else:
            payload["order_detail"]["pay_info"].pop("pay_time")
    return payload


@pytest.mark.parametrize(("channel", "code"), [(c, code) for c, codes in DOCUMENTED.items() for code in codes])
def test_every_documented_code_maps_paid_or_not(channel: str, code: str) -> None:
    status, if_paid, hold = DOCUMENTED[channel][code]
    adapter = REGISTRY.get(channel)
    paid = adapter.adapt(_with_status(channel, code, paid=True), shop_id="s")
    unpaid = adapter.adapt(_with_status(channel, code, paid=False), shop_id="s")
    assert paid.status is if_paid and unpaid.status is status
    assert paid.channel_status == code
    assert bool(paid.holds) is hold


@pytest.mark.parametrize("channel", sorted(DOCUMENTED))
@pytest.mark.parametrize("code", ["0", "7", "999"])
def test_undocumented_codes_are_refused_naming_the_code(channel: str, code: str) -> None:
    with pytest.raises(UnknownStatusError, match=f"^{channel}: .*unknown status code '{code}'"):
        REGISTRY.get(channel).adapt(_with_status(channel, code, paid=True), shop_id="s")


def test_douyin_main_status_refines_order_status() -> None:
    adapter = REGISTRY.get("douyin")
    base = json.loads((FIXTURES / "douyin" / "missing_optional.json").read_text(encoding="utf-8"))
    for main, status, refund in ((21, S.CLOSED, R.REFUNDED), (22, S.CLOSED, R.REFUNDED),
                                 (39, S.CLOSED, R.REFUNDED), (103, S.PENDING_PAYMENT, R.NONE)):
        o = adapter.adapt({**base, "order_status": 4 if main != 103 else 1, "main_status": main}, shop_id="s")
        assert (o.status, o.refund_status) == (status, refund), main
        assert o.channel_status == ("4" if main != 103 else "1")
