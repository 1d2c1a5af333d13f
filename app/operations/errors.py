"""Pure: errors of the operations tooling. Each message names the bad input."""

from __future__ import annotations


class OperationsError(ValueError):
    """Bad input to an operations command or view; the message is one line for the user."""


class NotFoundError(OperationsError):
    """What the user named does not exist (a DLQ id no topic holds)."""
