"""Pure: a `Router` (app/domain/transitions.py) over one rules snapshot, catalog snapshot and geocoder."""

from __future__ import annotations

from dataclasses import dataclass

from app.address.model import Geocoder
from app.catalog.catalog import Catalog
from app.domain.model import Order
from app.domain.transitions import RoutingDefaults, RoutingOutcome
from app.routing.decision import RoutingDecision, decide, to_outcome
from app.rules.engine import RuleSet

__all__ = ["RulesRouter"]


@dataclass(slots=True)
class RulesRouter:
    rules: RuleSet
    catalog: Catalog
    geocoder: Geocoder
    defaults: RoutingDefaults
    #: the last full decision, for the caller's log line (rule errors are logged and counted there)
    last: RoutingDecision | None = None

    def decide(self, order: Order) -> RoutingOutcome:
        self.last = decide(order, self.rules, self.catalog, self.geocoder, self.defaults)
        return to_outcome(order, self.last)
