"""Faust wiring: the merge groups, keyed by merge key (the key of the `merge-candidates` topic)."""

from __future__ import annotations

from tables.orders import _raw_table

merge_groups_table = _raw_table(
    "merge-groups", "Per merge key, the orders waiting to ship together and the merge in progress.")
