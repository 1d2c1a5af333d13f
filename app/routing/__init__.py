"""Pure: the routing decision for one order — address, weights, rules → carrier, warehouse, holds."""

from app.routing.decision import RoutingDecision, decide, to_outcome
from app.routing.geocoding import SplitFieldsGeocoder
from app.routing.router import RulesRouter

__all__ = ["RoutingDecision", "RulesRouter", "SplitFieldsGeocoder", "decide", "to_outcome"]
