"""Pure: audit entries, the record of who changed what on `orderhub.audit`.

Every operator command, approval step, rejection, rule change and automatic hold is one
entry. Entries are appended, never edited or deleted: no API offers either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain.model import SCHEMA_VERSION

#: actions done by people (the numerator of the intervention rate); the rest are automatic
MANUAL_ACTIONS = frozenset({
    "command_applied", "approval_requested", "approval_granted", "approval_rejected",
    "command_refused",
})


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    role: str
    action: str
    oli: str
    #: the command behind the entry (change_address, hold, ...), empty for automatic entries
    command: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    request_id: str = ""
    approval_id: str = ""
    job_id: str = ""
    version: int = 0
    #: the routing rule a rule change is about (then `oli` is empty)
    rule_id: str = ""
    schema_version: int = SCHEMA_VERSION


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value differs, as (before, after)."""
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
