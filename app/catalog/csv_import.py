"""Pure: parse the SKU catalog CSV that `orderhub skus import` publishes.

Columns (header required, order free): channel, sku_id, outer_sku, internal_sku, weight_g,
length_mm, width_mm, height_mm, category, warehouses (separated by `|`). Required:
channel, internal_sku, weight_g, and one of sku_id / outer_sku. Errors name the row
(line number in the file) and the column.
"""

from __future__ import annotations

import csv
import io

from app.catalog.model import SkuEntry
from app.domain.errors import ValidationError

__all__ = ["COLUMNS", "parse_skus_csv"]

COLUMNS = ("channel", "sku_id", "outer_sku", "internal_sku", "weight_g", "length_mm", "width_mm",
           "height_mm", "category", "warehouses")
REQUIRED = ("channel", "internal_sku", "weight_g")


def _int(value: str, *, where: str, column: str, optional: bool) -> int | None:
    if not value and optional:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(f"{where}: column {column!r} must be a whole number, got {value!r}") from None
    if number < 0:
        raise ValidationError(f"{where}: column {column!r} must not be negative")
    return number


def parse_skus_csv(text: str, *, source: str = "skus.csv") -> list[SkuEntry]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or ()]
    if not header:
        raise ValidationError(f"{source}: empty file (expected a header line: {','.join(COLUMNS)})")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise ValidationError(f"{source}:1: unknown column {unknown[0]!r} (columns: {', '.join(COLUMNS)})")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ValidationError(f"{source}:1: missing column {missing[0]!r}")
    reader.fieldnames = header
    entries: dict[str, SkuEntry] = {}
    for row in reader:
        where = f"{source}:{reader.line_num}"
        if None in row:
            raise ValidationError(f"{where}: more fields than columns")
        cells = {k: (v or "").strip() for k, v in row.items()}
        if not any(cells.values()):
            continue
        for column in ("channel", "internal_sku"):
            if not cells[column]:
                raise ValidationError(f"{where}: column {column!r} is empty")
        if not cells.get("sku_id") and not cells.get("outer_sku"):
            raise ValidationError(f"{where}: one of 'sku_id' or 'outer_sku' is required")
        dims = {c: _int(cells.get(c, ""), where=where, column=c, optional=True)
                for c in ("length_mm", "width_mm", "height_mm")}
        weight = _int(cells["weight_g"], where=where, column="weight_g", optional=False)
        assert weight is not None
        entry = SkuEntry(
            channel=cells["channel"], internal_sku=cells["internal_sku"], weight_g=weight,
            sku_id=cells.get("sku_id", ""), outer_sku=cells.get("outer_sku", ""),
            category=cells.get("category", ""),
            warehouses=tuple(w.strip() for w in cells.get("warehouses", "").split("|") if w.strip()),
            **dims,
        )
        if entry.key in entries:
            raise ValidationError(f"{where}: SKU {entry.key} appears twice")
        entries[entry.key] = entry
    if not entries:
        raise ValidationError(f"{source}: no SKU rows")
    return list(entries.values())
