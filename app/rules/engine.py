"""Pure: a rules snapshot and the evaluation of one order's facts against it.

Order: rules run by `priority` (lower first), ties by rule id, so the result never
depends on file order or topic arrival. Disabled rules do not run. For each field
(carrier, warehouse) the first matching rule that sets it wins; every matching rule's
holds, tags and approvals apply. A rule whose `when` fails for this order (a missing
fact, a type error, a non-boolean result) is reported in `errors`; the caller holds the
order with reason ``rule_error:<id>``. Evaluation never raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import cel

from app.domain.merge import MERGE_TAG
from app.rules.compiled import CompiledRule, compile_rule
from app.rules.model import ActionKind, Rule, RuleRef

__all__ = ["Evaluation", "RuleSet", "RuleTrace", "evaluate"]


class RuleSet:
    """An immutable, compiled snapshot of the rules. Build the next one with `updated`,
    which reuses the compiled program of every rule whose version did not change."""

    __slots__ = ("_always", "_compiled", "_index", "_rules", "active", "facts", "invalid")

    def __init__(self, rules: Iterable[Rule] = (), *, previous: RuleSet | None = None,
                 use_prefilter: bool = True) -> None:
        self._rules: dict[str, Rule] = {r.id: r for r in rules}
        reuse = previous._compiled if previous is not None else {}
        self._compiled: dict[str, CompiledRule] = {}
        #: rules that did not compile (published by something other than `rules apply`): id → error
        self.invalid: dict[str, str] = {}
        for rule in self._rules.values():
            old = reuse.get(rule.id)
            if old is not None and old.rule == rule:
                self._compiled[rule.id] = old
                continue
            try:
                self._compiled[rule.id] = compile_rule(rule)
            except Exception as exc:  # noqa: BLE001 — a bad rule must not stop the others
                self.invalid[rule.id] = str(exc)
        self.active: tuple[CompiledRule, ...] = tuple(sorted(
            (c if use_prefilter else replace(c, prefilter=None) for c in self._compiled.values() if c.rule.enabled),
            key=lambda c: (c.rule.priority, c.rule.id)))
        self.facts: frozenset[str] = frozenset().union(*(c.facts for c in self.active))
        self._build_index()

    def _build_index(self) -> None:
        """Rules with a `fact == "x"` / `fact in [...]` check are indexed by fact and value, so an
        order only visits the rules its own values can match (plus the unindexed ones)."""
        self._always: frozenset[int] = frozenset(
            i for i, c in enumerate(self.active) if c.prefilter is None or c.prefilter.index_key is None)
        index: dict[str, dict[str, set[int]]] = {}
        for i, c in enumerate(self.active):
            key = c.prefilter.index_key if c.prefilter is not None else None
            if key is not None:
                by_value = index.setdefault(key.fact, {})
                for value in key.index_values or ():
                    by_value.setdefault(value, set()).add(i)
        self._index = {fact: {v: frozenset(s) for v, s in by_value.items()} for fact, by_value in index.items()}

    def candidates(self, facts: Mapping[str, Any]) -> list[int]:
        """Positions in `active`, in evaluation order, of the rules that can match these facts."""
        if not self._index:
            return list(range(len(self.active)))
        found = set(self._always)
        for fact, by_value in self._index.items():
            value = facts.get(fact)
            if type(value) is str:
                found.update(by_value.get(value, ()))
            else:  # absent or odd: CEL decides every rule indexed on it
                for positions in by_value.values():
                    found.update(positions)
        return sorted(found)

    @property
    def rules(self) -> Mapping[str, Rule]:
        return self._rules

    def __len__(self) -> int:
        return len(self._rules)

    def updated(self, changes: Mapping[str, Rule | None]) -> RuleSet:
        """A new snapshot with `changes` applied (None deletes the rule)."""
        rules = dict(self._rules)
        for rule_id, rule in changes.items():
            if rule is None:
                rules.pop(rule_id, None)
            else:
                rules[rule_id] = rule
        return RuleSet(rules.values(), previous=self)

    def invalid_rules(self) -> Iterable[tuple[RuleRef, str]]:
        for rule_id, error in sorted(self.invalid.items()):
            yield self._rules[rule_id].ref, error


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """What one rule did for one order (for `rules explain`)."""

    id: str
    version: int
    #: "matched", "not_matched", "skipped" (its guard excluded the order), "error"
    outcome: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Evaluation:
    carrier: str = ""
    warehouse: str = ""
    #: (reason, rule) in evaluation order, one per reason
    holds: tuple[tuple[str, RuleRef], ...] = ()
    tags: tuple[str, ...] = ()
    #: (reason, rule)
    approvals: tuple[tuple[str, RuleRef], ...] = ()
    fired: tuple[RuleRef, ...] = ()
    #: (rule, message) for rules that failed on this order
    errors: tuple[tuple[RuleRef, str], ...] = ()
    carrier_rule: RuleRef | None = None
    warehouse_rule: RuleRef | None = None
    trace: tuple[RuleTrace, ...] = field(default=(), compare=False)


def _error_text(exc: BaseException) -> str:
    text = str(exc).split(". ")[0].strip() or type(exc).__name__
    if isinstance(exc, KeyError):
        return f"no such key {text}"
    if text.startswith("Undefined variable or function: "):
        return f"fact {text.removeprefix('Undefined variable or function: ')} is unknown for this order"
    return text


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _effects(rule: Rule, ref: RuleRef, carrier_rule: RuleRef | None, warehouse_rule: RuleRef | None) -> str:
    """What a matched rule's actions did, for `rules explain`."""
    out = []
    for action in rule.then:
        if action.kind is ActionKind.SET_CARRIER:
            won = carrier_rule == ref
            out.append(f"carrier={action.value}" + ("" if won else f" (overridden by {carrier_rule.id if carrier_rule else '?'})"))
        elif action.kind is ActionKind.SET_WAREHOUSE:
            won = warehouse_rule == ref
            out.append(f"warehouse={action.value}"
                       + ("" if won else f" (overridden by {warehouse_rule.id if warehouse_rule else '?'})"))
        elif action.kind is ActionKind.HOLD:
            out.append(f"hold {action.value}")
        elif action.kind is ActionKind.ADD_TAG:
            out.append(f"tag {action.value}")
        elif action.kind is ActionKind.MERGE:
            out.append("merge automatically")
        else:
            out.append(f"approval {action.value}")
    return "; ".join(out)


def _prefilter(compiled: CompiledRule, facts: Mapping[str, Any]) -> tuple[bool | None, str]:
    """(False, failed check) to skip, (True, "") when the checks decide a match, (None, "") for CEL.
    Inlined `Check.decide`: this loop runs for every candidate rule of every order."""
    pre = compiled.prefilter
    if pre is None:
        return None, ""
    undecided = False
    for check in pre.checks:
        value = facts.get(check.fact)
        kind = check.kind
        if type(value) is not kind or (kind is int and not _INT64_MIN <= value <= _INT64_MAX) or (
                kind is list and not all(type(v) is str for v in value)):
            undecided = True
        elif not check.test(value):
            return False, check.text
    return (None if undecided or not pre.complete else True), ""


def evaluate(ruleset: RuleSet, facts: Mapping[str, Any], *, explain: bool = False) -> Evaluation:
    """Run every active rule on one order's facts. Never raises (see module docstring)."""
    active = ruleset.active
    # explain visits every rule so that each gets a line; the checks skip the same ones the index does
    positions = range(len(active)) if explain else ruleset.candidates(facts)
    outcomes: list[tuple[CompiledRule, bool | None, str]] = []
    cel_facts: set[str] = set()
    for position in positions:
        compiled = active[position]
        if compiled.prefilter is None:
            outcomes.append((compiled, None, ""))
            cel_facts.update(compiled.facts)
            continue
        decided, failed = _prefilter(compiled, facts)
        if decided is None:
            cel_facts.update(compiled.facts)
        elif decided is False and not explain:
            continue
        outcomes.append((compiled, decided, failed))
    context: Any = None
    context_error: Exception | None = None
    if cel_facts:
        try:  # only the facts the rules left to CEL read: converting a fact costs more than testing it
            context = cel.Context(variables={k: v for k, v in facts.items() if k in cel_facts})
        except Exception as exc:  # noqa: BLE001 — unconvertible facts: those rules fail, none guesses
            context_error = exc

    carrier = warehouse = ""
    carrier_rule = warehouse_rule = None
    holds: dict[str, RuleRef] = {}
    approvals: dict[str, RuleRef] = {}
    tags: dict[str, None] = {}
    fired: list[RuleRef] = []
    errors: list[tuple[RuleRef, str]] = []
    trace: list[RuleTrace] = []
    for compiled, decided, failed in outcomes:
        rule = compiled.rule
        if decided is False:
            if explain:
                trace.append(RuleTrace(rule.id, rule.version, "skipped", f"not: {failed}"))
            continue
        if decided is None:
            try:
                if context_error is not None:
                    raise context_error
                result = compiled.program.execute(context)
            except Exception as exc:  # noqa: BLE001 — any failure of one rule holds the order, never crashes
                message = _error_text(exc)
                if exc is context_error:
                    message = f"facts cannot be evaluated: {message}"
                errors.append((rule.ref, message))
                if explain:
                    trace.append(RuleTrace(rule.id, rule.version, "error", message))
                continue
            if result is not True:
                if result is not False:
                    message = f"when gave {type(result).__name__}, not true/false"
                    errors.append((rule.ref, message))
                    if explain:
                        trace.append(RuleTrace(rule.id, rule.version, "error", message))
                elif explain:
                    trace.append(RuleTrace(rule.id, rule.version, "not_matched"))
                continue
        ref = compiled.ref
        fired.append(ref)
        for action in rule.then:
            kind = action.kind
            if kind is ActionKind.SET_CARRIER:
                if carrier_rule is None:
                    carrier, carrier_rule = action.value, ref
            elif kind is ActionKind.SET_WAREHOUSE:
                if warehouse_rule is None:
                    warehouse, warehouse_rule = action.value, ref
            elif kind is ActionKind.HOLD:
                holds.setdefault(action.value, ref)
            elif kind is ActionKind.ADD_TAG:
                tags.setdefault(action.value, None)
            elif kind is ActionKind.MERGE:  # marks the order; its merge group reads the tag
                tags.setdefault(MERGE_TAG, None)
            else:
                approvals.setdefault(action.value, ref)
        if explain:
            trace.append(RuleTrace(rule.id, rule.version, "matched", _effects(rule, ref, carrier_rule, warehouse_rule)))
    return Evaluation(
        carrier=carrier, warehouse=warehouse, holds=tuple(holds.items()), tags=tuple(tags),
        approvals=tuple(approvals.items()), fired=tuple(fired), errors=tuple(errors),
        carrier_rule=carrier_rule, warehouse_rule=warehouse_rule, trace=tuple(trace))
