"""Pure: the SKU catalog. Platform SKUs (per channel) → internal SKU, weight, dimensions,
category and the warehouses that stock it; order and line weights come from it."""

from app.catalog.catalog import Catalog, LineWeight, Weighing, weigh
from app.catalog.csv_import import parse_skus_csv
from app.catalog.model import SkuEntry

__all__ = ["Catalog", "LineWeight", "SkuEntry", "Weighing", "parse_skus_csv", "weigh"]
