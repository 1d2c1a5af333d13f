"""Pure: the audit entry of a rule change (`orderhub rules apply|disable`).

A rule change is audited like an operator command: who, when, the rule's fields before
and after. Its entry names the rule (`rule_id`) instead of an order, and is keyed
`rule:<id>` on the audit topic.
"""

from __future__ import annotations

from datetime import datetime

from app.domain.audit import AuditEntry, changed_fields
from app.rules.model import Rule

__all__ = ["audit_key", "rule_change_entry"]


def rule_change_entry(old: Rule | None, new: Rule, *, actor: str, command: str, reason: str,
                      at: datetime) -> AuditEntry:
    """`rule_published` for a new or changed rule, `rule_disabled` when it was switched off."""
    before, after = changed_fields(old.to_dict() if old else {}, new.to_dict())
    disabled = old is not None and old.enabled and not new.enabled
    return AuditEntry(at=at, actor=actor, role="admin", action="rule_disabled" if disabled else "rule_published",
                      oli="", command=command, before=before, after=after, reason=reason,
                      version=new.version, rule_id=new.id)


def audit_key(entry: AuditEntry) -> str:
    return f"rule:{entry.rule_id}" if entry.rule_id else entry.oli
