"""Pure: one routing decision. `decide(order, rules, catalog, geocoder, defaults)`.

Steps: normalise the receiver address (the `Geocoder`), weigh the lines (the SKU
catalog), compute the facts, evaluate the rules. Holds, in this order:

- ``address_unresolved`` — the geocoder did not resolve the address to one division;
  the detail lists the candidates (never guessed);
- ``sku_unmapped`` — a line's SKU is not in the catalog of a weighed channel; the detail
  names the SKUs;
- ``rule_error:<id>`` — rule `<id>` failed for this order (never a silent pass);
- each `hold(reason)` of a matching rule, and ``approval_required`` per
  `require_approval(reason)`.

Carrier and warehouse: the first matching rule that sets each, else the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from app.address.model import Geocoder, NormalizedAddress
from app.catalog.catalog import Catalog, Weighing, weigh
from app.domain.model import Address, Hold, HoldSource, Line, Order, RuleRef
from app.domain.transitions import RoutingDefaults, RoutingOutcome
from app.rules.engine import Evaluation, RuleSet, evaluate
from app.rules.facts import compute_facts

__all__ = ["RoutingDecision", "decide", "to_outcome"]


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    carrier: str
    warehouse: str
    holds: tuple[Hold, ...]
    tags: tuple[str, ...]
    #: (reason, rule id) of each `require_approval`
    approvals: tuple[tuple[str, str], ...]
    rules_fired: tuple[RuleRef, ...]
    address: NormalizedAddress
    weighing: Weighing
    evaluation: Evaluation

    def to_json(self, *, explain: bool = False) -> dict[str, Any]:
        a = self.address
        out: dict[str, Any] = {
            "carrier": self.carrier, "warehouse": self.warehouse,
            "holds": [{"reason": h.reason, "detail": h.detail} for h in self.holds],
            "tags": list(self.tags),
            "approvals": [{"reason": r, "rule": rule_id} for r, rule_id in self.approvals],
            "rules_fired": [{"id": r.id, "version": r.version} for r in self.rules_fired],
            "address": {"province": a.province, "city": a.city, "district": a.district, "adcode": a.adcode,
                        "detail": a.detail, "confidence": a.confidence, "resolved": a.resolved,
                        "candidates": [{"province": c.province, "city": c.city, "district": c.district,
                                        "adcode": c.adcode} for c in a.candidates]},
            "weight_g": self.weighing.total_weight_g,
        }
        if explain:
            ev = self.evaluation
            out["explain"] = {
                "carrier_from": ev.carrier_rule.id if ev.carrier_rule else "default",
                "warehouse_from": ev.warehouse_rule.id if ev.warehouse_rule else "default",
                "rules": [{"id": t.id, "version": t.version, "outcome": t.outcome, "detail": t.detail}
                          for t in ev.trace],
            }
        return out


def _candidates_text(address: NormalizedAddress) -> str:
    if not address.candidates:
        return "no candidate division"
    return "candidates: " + "; ".join(
        f"{c.province}{c.city}{c.district} {c.adcode}".strip() for c in address.candidates)


def decide(order: Order, rules: RuleSet, catalog: Catalog, geocoder: Geocoder,
           defaults: RoutingDefaults, *, explain: bool = False) -> RoutingDecision:
    address = geocoder.normalize(order.receiver.address)
    weighing = weigh(order, catalog)
    facts = compute_facts(order, weighing, address, names=None if explain else rules.facts)
    ev = evaluate(rules, facts, explain=explain)
    holds: list[Hold] = []
    if not address.resolved:
        holds.append(Hold("address_unresolved", _candidates_text(address), HoldSource.SYSTEM))
    if weighing.unmapped:
        holds.append(Hold("sku_unmapped", f"{order.channel} SKU not in the catalog: "
                          + ", ".join(weighing.unmapped), HoldSource.SYSTEM))
    for ref, message in ev.errors:
        holds.append(Hold(f"rule_error:{ref.id}", f"v{ref.version}: {message}"[:500], HoldSource.SYSTEM))
    for reason, ref in ev.holds:
        holds.append(Hold(reason, f"rule {ref.id} v{ref.version}", HoldSource.SYSTEM))
    for reason, ref in ev.approvals:
        holds.append(Hold("approval_required", f"{reason} (rule {ref.id} v{ref.version})", HoldSource.SYSTEM))
    return RoutingDecision(
        carrier=ev.carrier or defaults.carrier, warehouse=ev.warehouse or defaults.warehouse,
        holds=tuple(holds), tags=ev.tags, approvals=tuple((r, ref.id) for r, ref in ev.approvals),
        rules_fired=ev.fired, address=address, weighing=weighing, evaluation=ev)


def _normalised_address(original: Address, address: NormalizedAddress) -> Address | None:
    if not address.resolved:
        return None
    return replace(original, province=address.province, city=address.city, district=address.district,
                   adcode=address.adcode or original.adcode, detail=address.detail or original.detail)


def _weighed_lines(order: Order, weighing: Weighing) -> tuple[Line, ...] | None:
    if all(line.weight_g is not None or lw.weight_g is None for line, lw in zip(order.lines, weighing.lines,
                                                                                 strict=True)):
        return None
    return tuple(line if line.weight_g is not None or lw.weight_g is None else replace(line, weight_g=lw.weight_g)
                 for line, lw in zip(order.lines, weighing.lines, strict=True))


def to_outcome(order: Order, decision: RoutingDecision) -> RoutingOutcome:
    """The part of a decision the order's state transition needs."""
    return RoutingOutcome(
        carrier=decision.carrier, warehouse=decision.warehouse, holds=decision.holds, tags=decision.tags,
        rules_fired=decision.rules_fired,
        address=_normalised_address(order.receiver.address, decision.address),
        lines=_weighed_lines(order, decision.weighing))
