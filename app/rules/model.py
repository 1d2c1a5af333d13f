"""Pure: the rule model `{id, name, priority, enabled, version, when, then}` and its actions.

A rule is data: operations staff write it in YAML or JSON, `orderhub rules apply`
publishes it on the compacted `rules` topic (key = rule id), and every worker reads it.
`Rule.from_dict` validates one definition and names the field that is wrong.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from app.domain.model import RuleRef
from app.rules.errors import RuleDefinitionError

__all__ = ["DEFAULT_PRIORITY", "Action", "ActionKind", "Rule", "RuleRef"]

DEFAULT_PRIORITY = 100
RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_FIELDS = ("id", "name", "priority", "enabled", "version", "when", "then")


class ActionKind(enum.StrEnum):
    SET_CARRIER = "set_carrier"
    SET_WAREHOUSE = "set_warehouse"
    HOLD = "hold"
    ADD_TAG = "add_tag"
    REQUIRE_APPROVAL = "require_approval"
    #: the order's merge group merges at the end of its wait without an operator (`merge: auto`)
    MERGE = "merge"


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    #: the carrier, warehouse, tag, or the hold/approval reason
    value: str

    def to_dict(self) -> dict[str, str]:
        return {self.kind.value: self.value}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    when: str
    then: tuple[Action, ...]
    name: str = ""
    #: lower runs first; ties are broken by rule id (see docs/rules.md)
    priority: int = DEFAULT_PRIORITY
    enabled: bool = True
    version: int = 1

    @property
    def ref(self) -> RuleRef:
        return RuleRef(self.id, self.version)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "priority": self.priority, "enabled": self.enabled,
                "version": self.version, "when": self.when, "then": [a.to_dict() for a in self.then]}

    def same_definition(self, other: Rule) -> bool:
        """Equal apart from the version: re-applying an unchanged rule does not bump it."""
        return self.to_dict() | {"version": 0} == other.to_dict() | {"version": 0}

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "") -> Rule:
        if not isinstance(data, dict):
            raise RuleDefinitionError(f"{where}a rule must be a mapping, got {type(data).__name__}")
        raw_id = data.get("id")
        if not isinstance(raw_id, str) or not RULE_ID.fullmatch(raw_id):
            raise RuleDefinitionError(
                f"{where}rule id {raw_id!r} must be 1-64 letters, digits, '_', '.' or '-'")
        rule_id = raw_id

        def fail(message: str) -> RuleDefinitionError:
            return RuleDefinitionError(f"rule {rule_id}: {message}", rule_id=rule_id)

        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise fail(f"unknown field {unknown[0]!r} (fields: {', '.join(_FIELDS)})")
        name = data.get("name", rule_id)
        if not isinstance(name, str):
            raise fail("field 'name' must be a string")
        priority = data.get("priority", DEFAULT_PRIORITY)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise fail(f"field 'priority' must be an integer, got {priority!r}")
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            raise fail(f"field 'enabled' must be true or false, got {enabled!r}")
        version = data.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise fail(f"field 'version' must be a positive integer, got {version!r}")
        when = data.get("when")
        if not isinstance(when, str) or not when.strip():
            raise fail("field 'when' must be a non-empty CEL expression")
        then = data.get("then")
        if not isinstance(then, list) or not then:
            raise fail("field 'then' must be a non-empty list of actions")
        actions = tuple(_action(item, i, fail) for i, item in enumerate(then))
        return cls(id=rule_id, name=name, priority=priority, enabled=enabled, version=version,
                   when=when.rstrip(), then=actions)


def _action(item: Any, index: int, fail: Any) -> Action:
    kinds = ", ".join(k.value for k in ActionKind)
    if not isinstance(item, dict) or len(item) != 1:
        raise fail(f"then[{index}] must be one mapping like {{set_carrier: EMS}} (actions: {kinds})")
    ((kind, value),) = item.items()
    try:
        action_kind = ActionKind(kind)
    except ValueError:
        raise fail(f"then[{index}]: unknown action {kind!r} (actions: {kinds})") from None
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise fail(f"then[{index}]: {kind} needs a non-empty text argument, got {value!r}")
    return Action(action_kind, str(value).strip())
