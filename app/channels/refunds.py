"""Pure: the order's refund state from its lines' refund states."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.model import RefundStatus

__all__ = ["aggregate_refund"]


def aggregate_refund(line_refunds: Sequence[RefundStatus]) -> RefundStatus:
    """The order's refund state from its lines' states.

    In progress anywhere → REQUESTED (it must block shipping even next to a finished
    refund); else every line refunded → REFUNDED; some (or part of a line) →
    PARTIAL_REFUNDED; else a refund was refused or closed on some line →
    REJECTED_OR_CLOSED; else (no line, or no line with a refund) → NONE.
    """
    if RefundStatus.REQUESTED in line_refunds:
        return RefundStatus.REQUESTED
    if line_refunds and all(r is RefundStatus.REFUNDED for r in line_refunds):
        return RefundStatus.REFUNDED
    if RefundStatus.REFUNDED in line_refunds or RefundStatus.PARTIAL_REFUNDED in line_refunds:
        return RefundStatus.PARTIAL_REFUNDED
    if RefundStatus.REJECTED_OR_CLOSED in line_refunds:
        return RefundStatus.REJECTED_OR_CLOSED
    return RefundStatus.NONE
