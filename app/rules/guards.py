"""Pure: the pre-filter. Decides the simple conjuncts of a rule's `when` in Python.

If `when` is a chain of top-level `&&`, each conjunct of a simple form is turned into
a `Check` Python can decide from the facts alone:

    int fact    <op> integer literal    weight_g > 2000, line_count == 1   (op: == != < <= > >=)
    string fact == / != "literal"       province == "新疆维吾尔自治区"   ("literal" == fact too)
    string fact in ["a", "b"]           province in ["西藏自治区", "青海省"]
    "literal" in list fact              "presale" in tags
    string fact . contains / startsWith / endsWith ("literal")

For an order where any check is false, the rule does not match: in CEL `false && x`
is false whatever `x` is, even an error, so skipping the rule gives exactly what CEL
would. When every conjunct is a check and all are true, the rule matches without CEL.
Otherwise (a fact is absent or not of the expected type, or other conjuncts remain)
CEL evaluates the whole expression. Anything the scanner does not fully understand (a
top-level `||` or `?:`, escapes in strings, raw or bytes literals) yields no checks.
The unit tests compare this with plain CEL on random rules and orders.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.rules.facts import FACTS

__all__ = ["Check", "Prefilter", "prefilter", "split_top_level_and"]

_INT_FACTS = frozenset(n for n, f in FACTS.items() if f.type == "int")
_STRING_FACTS = frozenset(n for n, f in FACTS.items() if f.type == "string")
_STRING_LIST_FACTS = frozenset(n for n, f in FACTS.items() if f.type == "list(string)")
_INT64 = (-(2**63), 2**63)

_IDENT = r"([A-Za-z_][A-Za-z0-9_]*)"
_STR = r"""(?:"([^"\\\n]*)"|'([^'\\\n]*)')"""
_INT = r"(-?[0-9]+)"
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_P_INT = re.compile(rf"\s*{_IDENT}\s*(==|!=|<=|>=|<|>)\s*{_INT}\s*")
_P_STR = re.compile(rf"\s*{_IDENT}\s*(==|!=)\s*{_STR}\s*")
_P_STR_REV = re.compile(rf"\s*{_STR}\s*(==|!=)\s*{_IDENT}\s*")
_P_IN_LIST = re.compile(rf"\s*{_IDENT}\s+in\s+\[((?:\s*{_STR}\s*,)*\s*{_STR}\s*,?\s*)\]\s*")
_P_LIT_IN = re.compile(rf"\s*{_STR}\s+in\s+{_IDENT}\s*")
_P_METHOD = re.compile(rf"\s*{_IDENT}\s*\.\s*(contains|startsWith|endsWith)\s*\(\s*{_STR}\s*\)\s*")
_LIST_ITEM = re.compile(_STR)
_METHODS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda v, lit: lit in v, "startsWith": str.startswith, "endsWith": str.endswith}


def _lit(a: str | None, b: str | None) -> str:
    return a if a is not None else b or ""


@dataclass(frozen=True, slots=True)
class Check:
    fact: str
    #: what the check tests, for `rules explain`
    text: str
    test: Callable[[Any], bool]
    kind: type
    #: for `fact == "x"` / `fact in [...]`: the only values that can pass (the rule index uses them)
    index_values: frozenset[str] | None = None

    def decide(self, facts: Mapping[str, Any]) -> bool | None:
        """True/False, or None when the fact is absent or not of the expected type (CEL decides)."""
        value = facts.get(self.fact)
        if type(value) is not self.kind:
            return None
        if self.kind is int and not _INT64[0] <= value < _INT64[1]:
            return None
        if self.kind is list and not all(type(v) is str for v in value):
            return None
        return self.test(value)


@dataclass(frozen=True, slots=True)
class Prefilter:
    checks: tuple[Check, ...]
    #: True when the checks are the whole expression: all true means the rule matches
    complete: bool

    @property
    def index_key(self) -> Check | None:
        """The most selective string-equality check: the rule is indexed under its values."""
        keyed = [c for c in self.checks if c.index_values is not None]
        return min(keyed, key=lambda c: len(c.index_values or ())) if keyed else None


def _check(conjunct: str) -> Check | None:
    text = conjunct.strip()
    m = _P_INT.fullmatch(conjunct)
    if m and m.group(1) in _INT_FACTS:
        op, n = _OPS[m.group(2)], int(m.group(3))
        if _INT64[0] <= n < _INT64[1]:
            return Check(m.group(1), text, lambda v, op=op, n=n: op(v, n), int)
    m = _P_STR.fullmatch(conjunct)
    if m and m.group(1) in _STRING_FACTS:
        op, s = _OPS[m.group(2)], _lit(m.group(3), m.group(4))
        return Check(m.group(1), text, lambda v, op=op, s=s: op(v, s), str,
                     frozenset({s}) if m.group(2) == "==" else None)
    m = _P_STR_REV.fullmatch(conjunct)
    if m and m.group(4) in _STRING_FACTS:
        op, s = _OPS[m.group(3)], _lit(m.group(1), m.group(2))
        return Check(m.group(4), text, lambda v, op=op, s=s: op(v, s), str,
                     frozenset({s}) if m.group(3) == "==" else None)
    m = _P_IN_LIST.fullmatch(conjunct)
    if m and m.group(1) in _STRING_FACTS:
        values = frozenset(_lit(i.group(1), i.group(2)) for i in _LIST_ITEM.finditer(m.group(2)))
        return Check(m.group(1), text, lambda v, values=values: v in values, str, values)
    m = _P_LIT_IN.fullmatch(conjunct)
    if m and m.group(3) in _STRING_LIST_FACTS:
        s = _lit(m.group(1), m.group(2))
        return Check(m.group(3), text, lambda v, s=s: s in v, list)
    m = _P_METHOD.fullmatch(conjunct)
    if m and m.group(1) in _STRING_FACTS:
        method, s = _METHODS[m.group(2)], _lit(m.group(3), m.group(4))
        return Check(m.group(1), text, lambda v, method=method, s=s: method(v, s), str)
    return None


def split_top_level_and(source: str) -> list[str] | None:
    """The conjuncts of a top-level `&&` chain, or None when the scan is not sure."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(source)
    while i < n:
        c = source[i]
        if c in "\"'":
            if source[i:i + 3] in ('"""', "'''") or (i and source[i - 1].isalpha()):
                return None  # triple-quoted, raw or bytes literal: not worth understanding
            end = source.find(c, i + 1)
            if end < 0 or "\\" in source[i:end] or "\n" in source[i:end]:
                return None
            i = end + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            pair = source[i:i + 2]
            if pair == "||" or c == "?":
                return None
            if pair == "&&":
                parts.append(source[start:i])
                start = i + 2
                i += 2
                continue
        i += 1
    if depth != 0:
        return None
    parts.append(source[start:])
    return parts


def prefilter(source: str) -> Prefilter | None:
    conjuncts = split_top_level_and(source)
    if conjuncts is None:
        return None
    checks = [_check(c) for c in conjuncts]
    found = tuple(c for c in checks if c is not None)
    if not found:
        return None
    return Prefilter(found, complete=len(found) == len(checks))
