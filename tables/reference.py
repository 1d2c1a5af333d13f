"""Faust wiring: the reference data every worker holds in full — rules and SKU catalog snapshots.

Not Faust tables: they are filled from the compacted `rules` and `skus` topics by
`agents/reference_data.py`, which every worker runs over all partitions (see
app/reference_data.py for why not a GlobalTable). Routing reads the snapshot current at
the moment an order is routed, so a change applies to orders routed after it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from app.catalog import Catalog
from app.rules import RuleSet


@dataclass
class ReferenceData:
    rules: RuleSet = field(default_factory=RuleSet)
    catalog: Catalog = field(default_factory=Catalog)
    #: set once both topics have been read to their end at start: routing waits for it
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    loaded: set[str] = field(default_factory=set)
    #: rule evaluation failures by rule id since start (each one held an order)
    rule_errors: Counter[str] = field(default_factory=Counter)


reference = ReferenceData()
