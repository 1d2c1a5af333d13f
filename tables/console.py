"""Faust wiring: the operator console's tables, keyed by OLI like the orders table.

- `approvals`: the order's approvals (every pending one and the last decided ones).
- `order-history`: the order's path, its events and audit entries in arrival order, the
  last 200 (older entries stay on the topics).
"""

from __future__ import annotations

from tables.orders import _raw_table

approvals_table = _raw_table(
    "approvals", "Approvals of an order per OLI: pending ones and the last decided ones.")
history_table = _raw_table(
    "order-history", "Per OLI, the last 200 order events and audit entries in arrival order.")
bulk_progress_table = _raw_table(
    "bulk-progress", "Per `<job_id>/<partition>`, the outcomes of a bulk job's commands on that partition.")
