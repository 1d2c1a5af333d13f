"""Pure: a catalog snapshot and weighing an order with it.

A line is looked up by its platform `sku` (sku_id) first, then by its `outer_sku`.
A line that already carries `weight_g` keeps it (the line's total weight, all units);
otherwise it weighs `unit weight × quantity` from the catalog. A channel with no catalog
entries at all is not weighed: the weight is unknown (never a silent zero) and rules
that read it fail for that order, which holds it. In a weighed channel an unmapped SKU
without a weight on its line is reported in `Weighing.unmapped`, which holds the order
with reason ``sku_unmapped``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.catalog.model import SkuEntry
from app.domain.model import Line, Order

__all__ = ["Catalog", "LineWeight", "Weighing", "weigh"]


class Catalog:
    """An immutable snapshot: entries by topic key, indexed by (channel, sku_id) and (channel, outer_sku)."""

    __slots__ = ("_by_key", "_by_outer", "_by_sku", "_channels")

    def __init__(self, entries: Mapping[str, SkuEntry] | Iterable[SkuEntry] = ()) -> None:
        by_key = dict(entries) if isinstance(entries, Mapping) else {e.key: e for e in entries}
        self._by_key = by_key
        self._by_sku = {(e.channel, e.sku_id): e for e in by_key.values() if e.sku_id}
        self._by_outer = {(e.channel, e.outer_sku): e for e in by_key.values() if e.outer_sku}
        self._channels = frozenset(e.channel for e in by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    @property
    def entries(self) -> Mapping[str, SkuEntry]:
        return self._by_key

    def weighs(self, channel: str) -> bool:
        """True when the channel has catalog entries (its orders are weighed)."""
        return channel in self._channels

    def lookup(self, channel: str, line: Line) -> SkuEntry | None:
        entry = self._by_sku.get((channel, line.sku)) if line.sku else None
        if entry is None and line.outer_sku:
            entry = self._by_outer.get((channel, line.outer_sku))
        return entry

    def updated(self, changes: Mapping[str, SkuEntry | None]) -> Catalog:
        """A new snapshot with `changes` applied (None deletes the key)."""
        entries = dict(self._by_key)
        for key, entry in changes.items():
            if entry is None:
                entries.pop(key, None)
            else:
                entries[key] = entry
        return Catalog(entries)


@dataclass(frozen=True, slots=True)
class LineWeight:
    line_id: str
    weight_g: int | None
    internal_sku: str = ""
    category: str = ""


@dataclass(frozen=True, slots=True)
class Weighing:
    lines: tuple[LineWeight, ...]
    #: total grams, or None when any line's weight is unknown
    total_weight_g: int | None
    #: platform SKUs (sku, else outer_sku) the catalog does not know, in line order
    unmapped: tuple[str, ...] = ()
    #: warehouses that stock every line whose entry lists warehouses
    warehouses: tuple[str, ...] = ()

    @property
    def internal_skus(self) -> list[str]:
        return [lw.internal_sku for lw in self.lines if lw.internal_sku]

    @property
    def categories(self) -> list[str]:
        return sorted({lw.category for lw in self.lines if lw.category})


def weigh(order: Order, catalog: Catalog) -> Weighing:
    weighed_channel = catalog.weighs(order.channel)
    lines: list[LineWeight] = []
    unmapped: list[str] = []
    stock: set[str] | None = None
    for line in order.lines:
        entry = catalog.lookup(order.channel, line) if weighed_channel else None
        if entry is not None and entry.warehouses:
            stock = set(entry.warehouses) if stock is None else stock & set(entry.warehouses)
        if line.weight_g is not None:
            weight: int | None = line.weight_g
        elif entry is not None:
            weight = entry.weight_g * line.quantity
        else:
            weight = None
            if weighed_channel:
                unmapped.append(line.sku or line.outer_sku or line.line_id)
        lines.append(LineWeight(line.line_id, weight, entry.internal_sku if entry else "",
                                entry.category if entry else ""))
    weights = [lw.weight_g for lw in lines]
    total = None if any(w is None for w in weights) else sum(w for w in weights if w is not None)
    return Weighing(lines=tuple(lines), total_weight_g=total, unmapped=tuple(unmapped),
                    warehouses=tuple(sorted(stock or ())))
