"""Mapping files: load-time validation, the engine's rules, compiled paths, and adapters on arbitrary JSON."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jmespath
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.channels import MappingError, builtin_registry, parse_mapping
from app.channels.paths import compile_path
from app.domain.errors import AdapterError, UnknownStatusError
from app.domain.model import HoldSource, OrderStatus, RefundStatus

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SOURCE = "channels/acme.yaml"

#: a small valid mapping; tests change one thing at a time
ACME = """\
channel: acme
money: yuan
time: iso
order:
  name: o
  unwrap: [data.order, data.orders]
  api_error: "error && {code: error.code, msg: error.msg}"
status:
  code: state
  table:
    NEW: {status: PENDING_PAYMENT, meaning: new}
    PAID: PAID
    HELD: {status: PAID, hold: risk, meaning: under review}
    GONE: {status: CANCELLED, if_paid: CLOSED, meaning: cancelled}
    REFUNDED: {status: CLOSED, refund: REFUNDED}
  rules:
    - when: "flags.presale == `true` && state == 'PAID'"
      status: PENDING_PAYMENT
fields:
  external_id: [id_str, id]
  updated_at: updated
  paid_at: {path: paid, unset: ["1970-01-01T00:00:00Z"]}
  receiver:
    name: ship.name
    address:
      province: ship.region
      country: {path: ship.country, map: countries}
  amounts:
    paid: {path: total, required: true}
    shipping: {path: shipping_cents, money: fen}
  seller_memo: note
masked:
  markers: ["*"]
lines:
  path: items
  fields:
    line_id: id
    sku: sku
    quantity: qty
    unit_price: price
    amount: [paid, price]
  refund:
    code: refund
    default: NONE
    table: {none: NONE, asked: REQUESTED, done: REFUNDED}
tags:
  - {tag: vip, when: "vip"}
  - {path: labels, split: ";"}
enums:
  countries: {China: CN, "*": ZZ}
"""


def payload(**over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "id": 1001, "state": "PAID", "updated": "2026-11-11T10:00:00+08:00", "paid": "2026-11-11T09:59:00+08:00",
        "total": "30.50", "shipping_cents": 500, "note": "rush",
        "ship": {"name": "Li*", "region": "Zhejiang", "country": "China"},
        "items": [{"id": "a", "sku": 77, "qty": 2, "price": "12.75", "refund": "none"}],
    }
    p.update(over)
    return p


ADAPTER = parse_mapping(ACME, SOURCE)


def adapt(p: dict[str, Any]) -> Any:
    return ADAPTER.adapt(p, shop_id="s1")


# ---------------------------------------------------------------- the engine


def test_a_small_mapping_maps_every_kind_of_field() -> None:
    o = adapt(payload())
    assert (o.channel, o.external_id, o.oli) == ("acme", "1001", "acme-s1-1001")
    assert o.status is OrderStatus.PAID and o.channel_status == "PAID"
    assert o.updated_at.isoformat() == "2026-11-11T02:00:00+00:00"
    assert o.amounts.paid == 3050 and o.amounts.shipping == 500 and o.amounts.total == 0
    assert o.receiver.name == "Li*" and o.receiver.masked is True
    assert o.receiver.address.country == "CN"
    (line,) = o.lines
    assert (line.line_id, line.sku, line.quantity, line.unit_price, line.amount) == ("a", "77", 2, 1275, 1275)
    assert o.seller_memo == "rush" and o.tags == () and o.holds == ()


def test_unwrap_candidates_lists_and_bare_objects() -> None:
    bare = adapt(payload())
    assert adapt({"data": {"order": payload()}}) == bare
    assert adapt({"data": {"orders": [payload()]}}) == bare
    with pytest.raises(AdapterError, match=r"^acme: data\.orders: expected exactly one order object, got a list of 2"):
        adapt({"data": {"orders": [payload(), payload()]}})
    with pytest.raises(AdapterError, match=r"^acme: data\.order: missing"):
        adapt({"data": {}})
    with pytest.raises(AdapterError, match=r"the API call failed: 7 denied"):
        adapt({"error": {"code": 7, "msg": "denied"}})


def test_status_rules_if_paid_holds_and_order_refunds() -> None:
    assert adapt(payload(flags={"presale": True})).status is OrderStatus.PENDING_PAYMENT
    assert adapt(payload(state="GONE")).status is OrderStatus.CLOSED
    assert adapt(payload(state="GONE", paid=None)).status is OrderStatus.CANCELLED
    # a value listed under `unset` is "not set": never paid
    assert adapt(payload(state="GONE", paid="1970-01-01T00:00:00Z")).status is OrderStatus.CANCELLED
    held = adapt(payload(state="HELD"))
    assert [(h.reason, h.source, h.detail) for h in held.holds] == [
        ("risk", HoldSource.CHANNEL, "acme status HELD: under review")]
    refunded = adapt(payload(state="REFUNDED"))
    assert refunded.status is OrderStatus.CLOSED and refunded.refund_status is RefundStatus.REFUNDED
    with pytest.raises(UnknownStatusError, match=r"^acme: o\.state: unknown status code 'LOST'$"):
        adapt(payload(state="LOST"))
    with pytest.raises(AdapterError, match=r"^acme: o\.state: missing"):
        adapt(payload(state=None))


def test_line_refunds_are_combined() -> None:
    two = [{"id": "a", "sku": 1, "qty": 1, "price": "1", "refund": "done"},
           {"id": "b", "sku": 2, "qty": 1, "price": "1", "refund": "none"}]
    assert adapt(payload(items=two)).refund_status is RefundStatus.PARTIAL_REFUNDED
    two[1]["refund"] = "asked"
    assert adapt(payload(items=two)).refund_status is RefundStatus.REQUESTED
    two[1].pop("refund")
    assert adapt(payload(items=two)).refund_status is RefundStatus.PARTIAL_REFUNDED
    two[1]["refund"] = "weird"
    with pytest.raises(UnknownStatusError, match=r"o\.items\[1\]\.refund: unknown refund status code 'weird'"):
        adapt(payload(items=two))


def test_candidates_required_and_errors_name_the_field() -> None:
    assert adapt(payload(id_str="X-1")).external_id == "X-1"
    with pytest.raises(AdapterError, match=r"^acme: o\.id: missing \(nor id_str\)$"):
        adapt(payload(id=None))
    with pytest.raises(AdapterError, match=r"^acme: o\.total: missing$"):
        adapt(payload(total=""))
    with pytest.raises(AdapterError, match=r"^acme: o\.items\[0\]\.qty: expected a positive quantity, got 0$"):
        adapt(payload(items=[{"id": "a", "sku": 1, "qty": 0}]))
    with pytest.raises(AdapterError, match=r"^acme: o\.updated: ISO-8601 time without a UTC offset"):
        adapt(payload(updated="2026-11-11T10:00:00"))
    with pytest.raises(AdapterError, match=r"^acme: o\.items: expected a list, got dict$"):
        adapt(payload(items={"id": "a"}))
    with pytest.raises(AdapterError, match=r"^acme: o\.ship\.name: expected a string, got \['x'\]$"):
        adapt(payload(ship={"name": ["x"]}))
    with pytest.raises(AdapterError, match=r"^acme: shop_id: must be a non-empty string"):
        ADAPTER.adapt(payload(), shop_id="")


def test_enum_map_fallback_and_tags() -> None:
    assert adapt(payload(ship={"country": "Mars"})).receiver.address.country == "ZZ"
    assert adapt(payload(vip=True, labels="b2b; gift;b2b")).tags == ("vip", "b2b", "gift")
    assert adapt(payload(labels=["x", "y"])).tags == ("x", "y")
    with pytest.raises(AdapterError, match=r"o\.labels: expected text or a list of strings"):
        adapt(payload(labels=[1]))


def test_adapt_does_not_mutate_and_is_deterministic() -> None:
    p = payload(vip=True)
    before = copy.deepcopy(p)
    assert adapt(p) == adapt(p)
    assert p == before


# ---------------------------------------------------------------- load-time validation


def broken(old: str, new: str) -> str:
    assert old in ACME, old
    return ACME.replace(old, new, 1)


@pytest.mark.parametrize(("text", "field", "problem"), [
    (broken("paid: {path: total, required: true}", "paid: {path: 'total +', required: true}"),
     "fields.amounts.paid.path", "invalid JMESPath"),
    (broken("PAID: PAID", "PAID: SENT"), "status.table.PAID.status", "'SENT' is not one of: PENDING_PAYMENT"),
    (broken("    quantity: qty", "    qty: qty"), "lines.fields.qty", "unknown field (expected one of: amount,"),
    (broken("  external_id: [id_str, id]\n", ""), "fields.external_id", "missing (a path is required)"),
    (broken("money: yuan", "money: cents"), "money", "'cents' is not one of: yuan, decimal, fen"),
    (broken("shipping: {path: shipping_cents, money: fen}", "shipping: {path: shipping_cents, time: iso}"),
     "fields.amounts.shipping.time", "only time fields take `time`"),
    (broken("channel: acme", "channel: Acme Shop"), "channel", "is not a channel name"),
    (broken("status:\n  code: state", "status:\n  code: '[['"), "status.code", "invalid JMESPath"),
    (broken("NEW: {status", "yes: {status"), "status.table.True", "quote YAML words"),
    (broken("GONE: {status: CANCELLED, if_paid: CLOSED", "GONE: {status: CANCELLED, if_paid: ENDED"),
     "status.table.GONE.if_paid", "'ENDED' is not one of"),
    (broken("table: {none: NONE,", "table: {none: NOTHING,"), "lines.refund.table.none", "'NOTHING' is not one of"),
    (broken("  countries: {China: CN, \"*\": ZZ}", "  continents: {Asia: AS}"), "fields.receiver.address.country.map",
     "no table 'countries' under `enums`"),
    (broken("tags:\n", "hooks: [nope]\ntags:\n"), "hooks[0]", "unknown hook 'nope' (known: "),
    (broken("masked:", "maskd:"), "maskd", "unknown key"),
    (broken("  - {tag: vip, when: \"vip\"}", "  - {tag: vip}"), "tags[0]", "expected either `tag` + `when`, or `path`"),
    (broken("    - when: \"flags", "    - if: \"flags"), "status.rules[0].when", "missing"),
    ("channel: acme\n", "status", "missing"),
    ("- just\n- a list\n", "", "expected a mapping, got list"),
    ("channel: [unclosed\n", "line 2", "not valid YAML"),
    ("", "", "empty file"),
])
def test_bad_mapping_files_name_file_field_and_problem(text: str, field: str, problem: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, SOURCE)
    message = str(caught.value)
    assert message.startswith(f"{SOURCE}: {field}: " if field else f"{SOURCE}: "), message
    assert problem in message, message
    assert "\n" not in message


# ---------------------------------------------------------------- compiled paths


EXPRESSIONS = [
    "a", "a.b", "a[0]", "a.b[1].c", "a[-1]", "a || b", "a && b", "!a", "a == `1`", "a != 'x'", "a > `2`",
    "a <= b", "{x: a, y: b.c}", "[a, b]", "a[].b", "a[*].b", "sum(a[].b || `[]`)", "length(a)",
    "join(',', a)", "a.b == `true` && c || d", "`[]`",
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "x", "1"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abcd"), inner, max_size=4),
    max_leaves=12,
)


def _search(expr: str, data: Any) -> Any:
    try:
        return ("ok", jmespath.search(expr, data))
    except Exception as exc:  # noqa: BLE001 — comparing failure with failure
        return ("raise", type(exc).__name__)


def _compiled(expr: str, data: Any) -> Any:
    try:
        return ("ok", compile_path(expr).get(data))
    except Exception as exc:  # noqa: BLE001
        return ("raise", type(exc).__name__)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXPRESSIONS), JSON)
def test_compiled_paths_agree_with_jmespath(expr: str, data: Any) -> None:
    want, got = _search(expr, data), _compiled(expr, data)
    if want == ("raise", "TypeError"):  # JMESPath's own crash on ordering mixed types: we say null
        assert got == ("ok", None)
    else:
        assert got == want and type(got[1]) is type(want[1])


def test_plain_paths_are_native_and_functions_are_guarded() -> None:
    assert compile_path("a.b[0].c").native and compile_path("a.b[0].c").plain
    assert compile_path("a || b").native and not compile_path("a || b").plain
    assert not compile_path("sum(a)").native  # a type error must become an AdapterError
    assert compile_path("a.b").head == "a" and compile_path("a").key == "a"


# ---------------------------------------------------------------- every built-in adapter, any input

REGISTRY = builtin_registry()


def _valid_payloads() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(FIXTURES.glob("*/*.json")):
        if path.name.endswith(".expected.json") or path.parent.name not in REGISTRY:
            continue
        found.append((path.parent.name, json.loads(path.read_text(encoding="utf-8"))))
    return found


VALID = _valid_payloads()
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_paths(v, (*prefix, i)))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy_ = copy.copy(value)
    copy_[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy_


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(REGISTRY.channels())), ANY_JSON)
def test_arbitrary_json_raises_only_the_adapters_own_errors(channel: str, data: Any) -> None:
    try:
        REGISTRY.get(channel).adapt(data, shop_id="s")
    except (AdapterError, UnknownStatusError):
        pass


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_fixture_with_any_value_replaced_raises_only_the_adapters_own_errors(data: st.DataObject) -> None:
    channel, valid = data.draw(st.sampled_from(VALID))
    path = data.draw(st.sampled_from(_paths(valid)))
    mutated = _replace(valid, path, data.draw(ANY_JSON))
    try:
        order = REGISTRY.get(channel).adapt(mutated, shop_id="s")
    except (AdapterError, UnknownStatusError):
        return
    assert order.channel == channel and order.external_id


def test_mapping_text_is_what_the_docs_show() -> None:
    """The format section of docs/channels.md documents every top-level key the loader accepts."""
    from app.channels.mapping import _TOP_KEYS

    docs = (Path(__file__).resolve().parents[2] / "docs" / "channels.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Mapping file format"):]
    missing = [key for key in _TOP_KEYS if f"`{key}`" not in section]
    assert not missing, missing
