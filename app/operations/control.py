"""Pure: pause / resume commands on the control topic, and the paused state they add up to.

A command is JSON keyed by its target (``topic:<name>``) on `<prefix>.control`:
``{"action": "pause"|"resume", "target_type": "topic", "target": "<topic>", "at", "reason",
"schema_version": 1}``. The topic is compacted, so the latest command per target is the state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.operations.errors import OperationsError

ACTIONS = ("pause", "resume")


@dataclass(frozen=True, slots=True)
class ControlCommand:
    action: str
    target: str  # a full topic name
    at: datetime
    reason: str = ""
    target_type: str = "topic"

    @property
    def key(self) -> str:
        return f"{self.target_type}:{self.target}"

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "target_type": self.target_type, "target": self.target,
                "at": self.at.isoformat(), "reason": self.reason, "schema_version": 1}

    @classmethod
    def from_dict(cls, data: Any) -> ControlCommand:
        if not isinstance(data, dict) or data.get("action") not in ACTIONS or data.get("target_type") != "topic" \
                or not isinstance(data.get("target"), str):
            raise OperationsError(f"not a control command: {str(data)[:200]}")
        try:
            at = datetime.fromisoformat(str(data.get("at")))
        except ValueError:
            raise OperationsError(f"control command: field 'at' is not an ISO time: {data.get('at')!r}") from None
        return cls(data["action"], data["target"], at, str(data.get("reason", "")))


def input_topic(name: str, prefix: str, inputs: Iterable[str]) -> str:
    """Resolve `--topic` (short name or full name) to one of orderhub's input topics."""
    inputs = tuple(inputs)
    for topic in inputs:
        if name.strip() in (topic, topic.removeprefix(prefix + ".")):
            return topic
    known = ", ".join(sorted(t.removeprefix(prefix + ".") for t in inputs))
    raise OperationsError(f"--topic {name!r} is not an orderhub input topic (known: {known})")


@dataclass
class PauseState:
    """Paused topics, from control commands applied in order (the latest per target wins)."""

    paused: dict[str, ControlCommand] = field(default_factory=dict)

    def apply(self, command: ControlCommand) -> None:
        if command.action == "pause":
            self.paused[command.target] = command
        else:
            self.paused.pop(command.target, None)

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self.paused)
