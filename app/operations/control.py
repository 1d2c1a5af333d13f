"""Pure: pause / resume commands on the control topic, and the paused state they add up to.

A command is JSON keyed by its target (``topic:<name>`` or ``channel:<name>``) on
`<prefix>.control`: ``{"action": "pause"|"resume", "target_type": "topic"|"channel",
"target": "<topic or channel>", "at", "reason", "schema_version": 1}``. The topic is
compacted, so the latest command per target is the state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.operations.errors import OperationsError

ACTIONS = ("pause", "resume")
TARGET_TYPES = ("topic", "channel")


@dataclass(frozen=True, slots=True)
class ControlCommand:
    action: str
    target: str  # a full topic name, or a channel name
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
        if not isinstance(data, dict) or data.get("action") not in ACTIONS \
                or data.get("target_type") not in TARGET_TYPES or not isinstance(data.get("target"), str):
            raise OperationsError(f"not a control command: {str(data)[:200]}")
        try:
            at = datetime.fromisoformat(str(data.get("at")))
        except ValueError:
            raise OperationsError(f"control command: field 'at' is not an ISO time: {data.get('at')!r}") from None
        return cls(data["action"], data["target"], at, str(data.get("reason", "")), data["target_type"])


def input_topic(name: str, prefix: str, inputs: Iterable[str]) -> str:
    """Resolve `--topic` (short name or full name) to one of orderhub's input topics."""
    inputs = tuple(inputs)
    for topic in inputs:
        if name.strip() in (topic, topic.removeprefix(prefix + ".")):
            return topic
    known = ", ".join(sorted(t.removeprefix(prefix + ".") for t in inputs))
    raise OperationsError(f"--topic {name!r} is not an orderhub input topic (known: {known})")


def known_channel(name: str, channels: Iterable[str]) -> str:
    """Resolve `--channel` to one of the channels this deployment ingests."""
    channels = tuple(channels)
    if name.strip() in channels:
        return name.strip()
    raise OperationsError(f"--channel {name!r} is not a known channel (known: {', '.join(sorted(channels))})")


@dataclass
class PauseState:
    """Paused topics and channels, from control commands applied in order (the latest per target wins)."""

    paused: dict[str, ControlCommand] = field(default_factory=dict)  # by command key

    def apply(self, command: ControlCommand) -> None:
        if command.action == "pause":
            self.paused[command.key] = command
        else:
            self.paused.pop(command.key, None)

    def _targets(self, target_type: str) -> frozenset[str]:
        return frozenset(c.target for c in self.paused.values() if c.target_type == target_type)

    @property
    def topics(self) -> frozenset[str]:
        return self._targets("topic")

    @property
    def channels(self) -> frozenset[str]:
        return self._targets("channel")

    def describe(self) -> list[str]:
        """`topic:<name>` / `channel:<name>` of everything paused, sorted."""
        return sorted(self.paused)
