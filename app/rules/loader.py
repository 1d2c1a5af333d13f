"""Pure: a rules file (YAML or JSON text) → validated, compiled rules.

The file holds a list of rules, either at the top level or under `rules:`. Every rule
is validated and compiled (with a trial evaluation on a typical order); the first
problem raises `RuleDefinitionError` naming the rule id and, for expressions, the
line:column inside `when`. Duplicate ids are refused.
"""

from __future__ import annotations

from typing import Any

import yaml

from app.rules.compiled import compile_rule
from app.rules.errors import RuleDefinitionError
from app.rules.model import Rule

__all__ = ["parse_rules", "parse_rules_data"]


def parse_rules(text: str, *, source: str = "rules") -> list[Rule]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RuleDefinitionError(f"{where}: not valid YAML/JSON: {problem}") from None
    return parse_rules_data(data, source=source)


def parse_rules_data(data: Any, *, source: str = "rules") -> list[Rule]:
    if isinstance(data, dict) and set(data) == {"rules"}:
        data = data["rules"]
    if data is None:  # an empty file: no rules
        return []
    if not isinstance(data, list):
        raise RuleDefinitionError(f"{source}: expected a list of rules (or a mapping with `rules:`)")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        rule = Rule.from_dict(item, where=f"{source}: rules[{index}]: ")
        if rule.id in seen:
            raise RuleDefinitionError(f"rule {rule.id}: defined twice in {source}", rule_id=rule.id)
        seen.add(rule.id)
        compile_rule(rule, trial=True)
        rules.append(rule)
    return rules
