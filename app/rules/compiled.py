"""Pure: compiling one rule's `when` with CEL, once per rule version, and checking it.

CEL (the `common-expression-language` package) cannot do I/O and always terminates:
no loops beyond the bounded comprehension macros over finite lists, no user functions
(we register none). A compile error names the rule id and the line:column CEL reports;
a name that is not a fact is reported at its first position in the expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import cel

from app.rules.errors import RuleDefinitionError
from app.rules.facts import FACTS, sample_facts
from app.rules.guards import Prefilter, prefilter
from app.rules.model import Rule, RuleRef

__all__ = ["CompiledRule", "compile_rule"]

_CEL_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*)")
#: names bound by comprehension macros: `skus.exists(s, s.startsWith("GIFT"))` binds `s`
_BOUND = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    program: Any  # cel.Program
    #: facts the expression reads
    facts: frozenset[str]
    #: the conjuncts Python decides before (or instead of) CEL; None = always CEL
    prefilter: Prefilter | None
    ref: RuleRef


def _position_of(name: str, source: str) -> tuple[int, int]:
    """1-based line and column of the first use of `name` outside string literals."""
    masked = re.sub(r'"[^"\n]*"|\'[^\'\n]*\'', lambda m: " " * len(m.group()), source)
    m = re.search(rf"(?<![A-Za-z0-9_.]){re.escape(name)}(?![A-Za-z0-9_])", masked)
    if not m:
        return 1, 1
    before = source[: m.start()]
    return before.count("\n") + 1, m.start() - (before.rfind("\n") + 1) + 1


def compile_rule(rule: Rule, *, trial: bool = False) -> CompiledRule:
    """Compile `rule.when`. With `trial`, also evaluate it on a sample order so type errors
    (`weight_g > "2kg"`) and non-boolean results show up in `rules check`."""
    try:
        program = cel.compile(rule.when)
    except Exception as exc:  # noqa: BLE001 — the CEL binding raises ValueError, or others on odd input
        text = str(exc)
        m = _CEL_POSITION.search(text)
        if m:
            line, column = int(m.group(1)), int(m.group(2))
            reason = re.sub(r" expecting \{.*", "", m.group(3)).strip()
            raise RuleDefinitionError(f"rule {rule.id}: when {line}:{column}: {reason}",
                                      rule_id=rule.id, line=line, column=column) from None
        raise RuleDefinitionError(f"rule {rule.id}: when: {text.splitlines()[0] if text else exc!r}",
                                  rule_id=rule.id) from None
    bound = set(_BOUND.findall(rule.when))
    names = set(program.variables()) - bound
    unknown = sorted(names - set(FACTS), key=lambda n: _position_of(n, rule.when))
    if unknown:
        line, column = _position_of(unknown[0], rule.when)
        raise RuleDefinitionError(
            f"rule {rule.id}: when {line}:{column}: unknown name {unknown[0]!r} "
            f"(facts: {', '.join(FACTS)}; see docs/rules.md)", rule_id=rule.id, line=line, column=column)
    compiled = CompiledRule(rule, program, frozenset(names), prefilter(rule.when), rule.ref)
    if trial:
        _trial(compiled)
    return compiled


def _trial(compiled: CompiledRule) -> None:
    rule = compiled.rule
    try:
        result = compiled.program.execute(sample_facts())
    except Exception as exc:  # noqa: BLE001 — any failure on a typical order is a definition error
        if isinstance(exc, KeyError):  # a map key the sample order lacks: data-dependent, allowed
            return
        message = str(exc).split(". ")[0]
        raise RuleDefinitionError(f"rule {rule.id}: when: fails on a typical order: {message}",
                                  rule_id=rule.id) from None
    if not isinstance(result, bool):
        raise RuleDefinitionError(f"rule {rule.id}: when must be true or false, but gives "
                                  f"{type(result).__name__} on a typical order", rule_id=rule.id)
