"""Pure: the pre-filter. Finds an equality guard on a string fact in a rule's `when`.

If `when` is a chain of top-level `&&` and one conjunct is `fact == "literal"` or
`fact in ["a", "b"]` on a string fact (channel, province, city, ...), the rule can only
match orders whose fact has one of those values. For every other order that conjunct is
false, and in CEL `false && x` is false whatever `x` is — even an error — so skipping
the rule gives exactly the result evaluating it would. This is what keeps 100 rules per
order within budget (docs/performance.md). Anything the scanner does not fully
understand (a top-level `||` or `?:`, escapes in strings, raw or bytes literals) gets no
guard and is simply evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.rules.facts import STRING_FACTS

__all__ = ["Guard", "find_guard", "split_top_level_and"]

_IDENT = r"([A-Za-z_][A-Za-z0-9_]*)"
_STRING = r"""(?:"([^"\\\n]*)"|'([^'\\\n]*)')"""
_EQ = re.compile(rf"\s*{_IDENT}\s*==\s*{_STRING}\s*")
_EQ_REVERSED = re.compile(rf"\s*{_STRING}\s*==\s*{_IDENT}\s*")
_IN = re.compile(rf"\s*{_IDENT}\s+in\s+\[((?:\s*{_STRING}\s*,)*\s*{_STRING}\s*,?\s*)\]\s*")
_LIST_ITEM = re.compile(_STRING)


@dataclass(frozen=True, slots=True)
class Guard:
    fact: str
    values: frozenset[str]


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


def _guard_of(conjunct: str) -> Guard | None:
    m = _EQ.fullmatch(conjunct)
    if m and m.group(1) in STRING_FACTS:
        return Guard(m.group(1), frozenset({m.group(2) if m.group(2) is not None else m.group(3)}))
    m = _EQ_REVERSED.fullmatch(conjunct)
    if m and m.group(3) in STRING_FACTS:
        return Guard(m.group(3), frozenset({m.group(1) if m.group(1) is not None else m.group(2)}))
    m = _IN.fullmatch(conjunct)
    if m and m.group(1) in STRING_FACTS:
        values = frozenset(item.group(1) if item.group(1) is not None else item.group(2)
                           for item in _LIST_ITEM.finditer(m.group(2)))
        return Guard(m.group(1), values)
    return None


def find_guard(source: str) -> Guard | None:
    """The most selective guard among the conjuncts (fewest values), or None."""
    conjuncts = split_top_level_and(source)
    if conjuncts is None:
        return None
    guards = [g for g in (_guard_of(c) for c in conjuncts) if g is not None]
    return min(guards, key=lambda g: len(g.values)) if guards else None
