"""Pure: the lane an order input takes to its owner, so paid orders in a backlog go first.

Order inputs travel on two co-partitioned topics read by the same agent:

- `order-inputs-paid` (the paid lane): payments, orders the platform reports as paid or
  beyond (shipped, refunded, closed after payment) and the watchdog's ticks: everything
  that can lead to a fulfillment command;
- `order-inputs` (the other lane): orders not paid yet (waiting for payment, cancelled
  before payment).

While a worker has a backlog it reads the paid lane first (`app/operations/paid_first.py`).
Taking the lanes in a different order than they were written is safe because of how
updates apply: a newer snapshot wins, an older one changes nothing, and nothing an
unpaid order's input says can follow a paid one (status never moves back to unpaid).
"""

from __future__ import annotations

from app.domain.model import Order

PAID, OTHER = "paid", "other"


def lane_of_order(order: Order) -> str:
    return PAID if order.is_paid else OTHER
