"""Pure: one catalog entry, as carried on the compacted `skus` topic (key `channel:sku`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.errors import ValidationError

__all__ = ["SkuEntry"]


@dataclass(frozen=True, slots=True)
class SkuEntry:
    """A platform SKU of one channel. At least one of `sku_id` / `outer_sku` is set."""

    channel: str
    internal_sku: str
    #: weight of one unit in grams
    weight_g: int
    sku_id: str = ""
    outer_sku: str = ""
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    category: str = ""
    #: warehouses that stock it; empty = no restriction recorded
    warehouses: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The topic key: `channel:sku_id`, or `channel:outer_sku` for entries known only by it."""
        return f"{self.channel}:{self.sku_id or self.outer_sku}"

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "sku_id": self.sku_id, "outer_sku": self.outer_sku,
                "internal_sku": self.internal_sku, "weight_g": self.weight_g, "length_mm": self.length_mm,
                "width_mm": self.width_mm, "height_mm": self.height_mm, "category": self.category,
                "warehouses": list(self.warehouses)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SkuEntry:
        what = "SKU entry"
        for name in ("channel", "internal_sku"):
            if not isinstance(d.get(name), str) or not d[name]:
                raise ValidationError(f"{what}: field {name!r} must be a non-empty string")
        weight = d.get("weight_g")
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
            raise ValidationError(f"{what}: field 'weight_g' must be a non-negative integer, got {weight!r}")
        if not (d.get("sku_id") or d.get("outer_sku")):
            raise ValidationError(f"{what}: one of 'sku_id' or 'outer_sku' is required")
        return cls(channel=d["channel"], internal_sku=d["internal_sku"], weight_g=weight,
                   sku_id=str(d.get("sku_id") or ""), outer_sku=str(d.get("outer_sku") or ""),
                   length_mm=d.get("length_mm"), width_mm=d.get("width_mm"), height_mm=d.get("height_mm"),
                   category=str(d.get("category") or ""), warehouses=tuple(d.get("warehouses") or ()))
