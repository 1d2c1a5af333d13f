"""Unit: the SKU catalog — CSV parsing, lookups, weighing (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog import Catalog, SkuEntry, parse_skus_csv, weigh
from app.domain.errors import ValidationError
from app.domain.model import Line
from tests.unit.rules_fixtures import order

ROOT = Path(__file__).resolve().parents[2]
CATALOG = Catalog(parse_skus_csv((ROOT / "examples/skus.csv").read_text(), source="skus.csv"))


def test_example_csv_parses_with_keys_per_channel() -> None:
    assert len(CATALOG) == 9
    assert CATALOG.entries["taobao:5000004"].weight_g == 5100
    assert CATALOG.entries["douyin:DY-TEA-250G"].internal_sku == "TEA-LONGJING-250G"
    assert CATALOG.entries["taobao:5000001"].warehouses == ("WH-HANGZHOU", "WH-GUANGZHOU", "WH-URUMQI")
    assert CATALOG.entries["taobao:5000001"].length_mm == 300


def test_weight_is_unit_weight_times_quantity_and_summed() -> None:
    lines = (Line("1", "5000001", quantity=2), Line("2", "5000004", quantity=1))
    w = weigh(order(lines=lines), CATALOG)
    assert [lw.weight_g for lw in w.lines] == [500, 5100]
    assert w.total_weight_g == 5600 and w.unmapped == ()
    assert w.internal_skus == ["TS-RED-M", "RICE-5KG"]
    assert w.warehouses == ("WH-HANGZHOU", "WH-URUMQI")  # stock of every line


def test_lookup_falls_back_to_outer_sku() -> None:
    w = weigh(order(lines=(Line("1", "999", "SKU-KETTLE", quantity=1),)), CATALOG)
    assert w.total_weight_g == 1450


def test_a_line_that_carries_its_weight_keeps_it() -> None:
    w = weigh(order(lines=(Line("1", "5000004", quantity=3, weight_g=777),)), CATALOG)
    assert w.total_weight_g == 777


def test_unmapped_sku_is_named_and_weight_is_unknown_not_zero() -> None:
    w = weigh(order(lines=(Line("1", "5000001"), Line("2", "NOPE-1"))), CATALOG)
    assert w.unmapped == ("NOPE-1",) and w.total_weight_g is None


def test_channel_without_entries_is_not_weighed() -> None:
    w = weigh(order(channel="jd", lines=(Line("1", "5000001"),)), CATALOG)
    assert w.unmapped == () and w.total_weight_g is None


def test_catalog_updates_and_deletes() -> None:
    entry = SkuEntry("jd", "X-1", 10, sku_id="J1")
    c = CATALOG.updated({entry.key: entry, "taobao:5000001": None})
    assert c.weighs("jd") and "taobao:5000001" not in c.entries and len(c) == len(CATALOG)
    assert SkuEntry.from_dict(entry.to_dict()) == entry


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty file"),
    ("channel,sku_id,internal_sku\n", "missing column 'weight_g'"),
    ("channel,sku_id,internal_sku,weight_g,colour\n", "unknown column 'colour'"),
    ("channel,sku_id,internal_sku,weight_g\ntaobao,1,A,heavy\n", "f.csv:2: column 'weight_g' must be a whole number"),
    ("channel,sku_id,internal_sku,weight_g\ntaobao,1,A,-5\n", "must not be negative"),
    ("channel,sku_id,internal_sku,weight_g\ntaobao,,A,5\n", "f.csv:2: one of 'sku_id' or 'outer_sku'"),
    ("channel,sku_id,internal_sku,weight_g\ntaobao,1,,5\n", "column 'internal_sku' is empty"),
    ("channel,sku_id,internal_sku,weight_g\ntaobao,1,A,5\ntaobao,1,B,6\n", "f.csv:3: SKU taobao:1 appears twice"),
    ("channel,sku_id,internal_sku,weight_g\n", "no SKU rows"),
])
def test_bad_csv_names_row_and_column(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_skus_csv(text, source="f.csv")
