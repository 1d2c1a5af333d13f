"""Pure: what a bad rule definition raises. Every message names the rule id and, for
expressions, the position (line:column) in `when`."""

from __future__ import annotations

from app.domain.errors import ValidationError

__all__ = ["RuleDefinitionError"]


class RuleDefinitionError(ValidationError):
    """A rule (or a rules file) orderhub cannot use. `rule_id` is "" when the file itself is bad."""

    code = "invalid_rule"

    def __init__(self, message: str, *, rule_id: str = "", line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.rule_id = rule_id
        self.line = line
        self.column = column
