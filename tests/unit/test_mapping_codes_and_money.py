"""Mapping format additions (status.channel_status, codes, country ""), the natively compiled
JMESPath functions they rely on, and exact minor-unit money."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.channels import MappingError, parse_mapping
from app.channels.money_hooks import currency_exponent, minor_units
from app.channels.paths import compile_path
from app.domain.errors import AdapterError, UnknownStatusError

MAPPING = """
channel: acme
country: ""
status:
  code: state
  channel_status: "join(',', [join('=', ['state', to_string(state)]), phase && join('=', ['phase', phase])][?@])"
  table:
    1: PAID
    2: SHIPPED
codes:
  phase: {early: before, late: after}
  extra.code: {0: none, 1: some}
fields:
  external_id: id
  updated_at: {path: t, time: epoch_seconds}
"""


def adapt(**payload: Any) -> Any:
    return parse_mapping(MAPPING, "acme.yaml").adapt({"id": "o1", "t": 1717200000, **payload}, shop_id="s")


def test_channel_status_is_the_expression_and_codes_are_checked() -> None:
    assert adapt(state=1).channel_status == "state=1"
    assert adapt(state=2, phase="late", extra={"code": 1}).channel_status == "state=2,phase=late"
    assert adapt(state=1).receiver.address.country == ""  # country "": no default
    with pytest.raises(UnknownStatusError, match="^acme: order.phase: unknown status code 'middle'$"):
        adapt(state=1, phase="middle")
    with pytest.raises(UnknownStatusError, match=r"^acme: order.extra.code: unknown status code '2'$"):
        adapt(state=1, extra={"code": 2})
    with pytest.raises(UnknownStatusError, match="order.state: unknown status code '3'"):
        adapt(state=3, phase="middle")  # the status code itself is checked first


@pytest.mark.parametrize(("old", "new", "field", "problem"), [
    ("codes:\n  phase: {early: before, late: after}\n  extra.code: {0: none, 1: some}\n", "codes: [phase]\n",
     "codes", "expected a mapping of path → table of codes"),
    ("  phase: {early: before, late: after}", "  phase: {}", "codes.phase", "expected a non-empty mapping"),
    ("  phase: {early: before", "  'phase[': {early: before", "codes.phase[", "invalid JMESPath"),
    ("  extra.code: {0: none", "  extra.code: {true: none", "codes.extra.code.True", "must be text or an integer"),
    ("  channel_status: \"join", "  channel_status: \"join(", "status.channel_status", "invalid JMESPath"),
    ('country: ""', "country: 5", "country", "expected a country code"),
])
def test_bad_additions_name_file_and_field(old: str, new: str, field: str, problem: str) -> None:
    assert old in MAPPING
    text = MAPPING.replace(old, new)
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, "acme.yaml")
    message = str(caught.value)
    assert message.startswith(f"acme.yaml: {field}: "), message
    assert problem in message


# ---------------------------------------------------------------- natively compiled functions

EXPRESSIONS = [
    "join(',', [a, b][?@])", "join('-', ['x', to_string(n)])", "to_string(n)", "to_string(a)",
    "contains(`[1, 2, 3]`, n)", "contains(a, 'x')", "contains(`[\"paid\", \"refunded\"]`, a) && b || null",
    "[xs[], ys[].merge(@, `{\"g\": true}`)][]", "merge(a, b)", "xs[?@]", "xs[?n == `1`].n",
    "join(', ', [a, b])", "[a, n, b]",
]
VALUES = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "x", "ax", "paid"]) | st.floats(
    allow_nan=False, allow_infinity=False, width=16)
SCALAR_OR_OBJECT = st.recursive(VALUES, lambda inner: st.lists(inner, max_size=3)
                                | st.dictionaries(st.sampled_from(["n", "g", "a"]), inner, max_size=3), max_leaves=8)
DATA = st.fixed_dictionaries({}, optional={
    "a": SCALAR_OR_OBJECT, "b": SCALAR_OR_OBJECT, "n": SCALAR_OR_OBJECT,
    "xs": st.lists(SCALAR_OR_OBJECT, max_size=3), "ys": st.lists(SCALAR_OR_OBJECT, max_size=3)})


def outcome(run: Any) -> tuple[str, Any]:
    try:
        return ("ok", run())
    except jmespath.exceptions.JMESPathError as exc:
        return ("raise", type(exc).__name__)


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_these_functions_do_not_go_through_the_interpreter(expression: str) -> None:
    path = compile_path(expression)
    assert getattr(path.get, "__self__", None) is None, "falls back to jmespath's interpreter"


@settings(max_examples=300)
@given(st.sampled_from(EXPRESSIONS), DATA)
def test_native_functions_agree_with_jmespath(expression: str, data: dict[str, Any]) -> None:
    got = outcome(lambda: compile_path(expression).get(data))
    if expression == "merge(a, b)" and not all(isinstance(data.get(k), dict) for k in ("a", "b")):
        # the spec types merge's arguments as objects; jmespath 1.x checks only the first and
        # lets merge({}, []) through (it calls dict.update on the list): we refuse it
        assert got == ("raise", "JMESPathTypeError")
        return
    try:
        want = outcome(lambda: jmespath.search(expression, data))
    except TypeError:  # jmespath's merge() type-checks only its first argument, then crashes
        assert got == ("raise", "JMESPathTypeError")
        return
    assert got == want and type(got[1]) is type(want[1])


# ---------------------------------------------------------------- minor units


@settings(max_examples=200)
@given(st.sampled_from(["USD", "JPY", "KWD", "CNY", "CLF"]), st.integers(0, 10**12))
def test_minor_units_round_trip(currency: str, minor: int) -> None:
    exponent = currency_exponent(currency)
    major = Decimal(minor).scaleb(-exponent)
    assert minor_units(str(major), exponent, "x") == minor
    assert minor_units(format(major, "f"), exponent, "x") == minor


def test_minor_units_refuses_what_is_not_an_exact_amount() -> None:
    for value in (True, None, [], "1.2.3", "NaN", "Infinity", "-0.01", "0.001", 10**15):
        with pytest.raises(AdapterError, match="^f: "):
            minor_units(value, 2, "f")
    assert minor_units("-0", 2, "f") == 0 and minor_units(12.5, 2, "f") == 1250 and minor_units(7, 0, "f") == 7
    assert (currency_exponent("USD"), currency_exponent("jpy"), currency_exponent("BHD")) == (2, 0, 3)
    with pytest.raises(AdapterError, match="unknown ISO 4217 currency code 'ABC'"):
        currency_exponent("ABC")


def test_the_money_hooks_rebuild_every_line_field() -> None:
    # money_hooks builds Line positionally (for speed): a new Line field must be added there too
    from dataclasses import fields

    from app.domain.model import Line
    assert [f.name for f in fields(Line)] == [
        "line_id", "sku", "outer_sku", "title", "quantity", "unit_price", "amount", "weight_g"]


@settings(max_examples=200)
@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_yuan_floats_and_texts_agree(amount: Decimal) -> None:
    from app.channels.convert import yuan_to_fen
    assert yuan_to_fen(float(amount), "x") == yuan_to_fen(str(amount), "x") == int(amount * 100)
