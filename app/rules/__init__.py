"""Pure: the rules engine. Rules are data (`{id, name, priority, enabled, version, when, then}`),
`when` is a CEL expression over an order's facts, `then` a list of actions."""

from app.rules.engine import Evaluation, RuleSet, RuleTrace, evaluate
from app.rules.errors import RuleDefinitionError
from app.rules.facts import FACTS, compute_facts
from app.rules.loader import parse_rules, parse_rules_data
from app.rules.model import Action, ActionKind, Rule, RuleRef

__all__ = ["FACTS", "Action", "ActionKind", "Evaluation", "Rule", "RuleDefinitionError", "RuleRef",
           "RuleSet", "RuleTrace", "compute_facts", "evaluate", "parse_rules", "parse_rules_data"]
