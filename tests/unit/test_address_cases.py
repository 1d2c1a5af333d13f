"""The address cases in tests/fixtures/addresses.yaml: each expectation is first checked
against the shipped division table (so a wrong expectation fails here, not silently), then
against what the offline geocoder returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from app.address.divisions import load_divisions
from app.address.normalizer import OfflineGeocoder
from app.domain.model import Address

CASES_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "addresses.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]
TABLE = load_divisions()
GEOCODER = OfflineGeocoder()


def _case_id(case: dict[str, Any]) -> str:
    return f"case{CASES.index(case):03d}"


def _run(case: dict[str, Any]):
    if "fields" in case:
        province, city, district = case["fields"]
        return GEOCODER.normalize(Address(province=province, city=city, district=district, detail=case["detail"]))
    return GEOCODER.normalize_text(case["text"])


def test_there_are_enough_cases_of_every_kind() -> None:
    assert len(CASES) >= 200
    tags = [t for c in CASES for t in c["tags"]]
    for tag, at_least in (("municipality", 20), ("autonomous", 30), ("county_city", 20), ("abbreviation", 40),
                          ("missing_level", 15), ("ambiguous", 15), ("split", 30), ("conflict", 5)):
        assert tags.count(tag) >= at_least, tag
    provinces = {c["adcode"][:2] for c in CASES if "adcode" in c}
    assert len(provinces) >= 33  # every province-level division in the table


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_expectation_matches_the_dataset(case: dict[str, Any]) -> None:
    if "adcode" in case:
        division = TABLE.get(case["adcode"])
        assert division is not None, f"{case['adcode']} is not in the division table"
        chain_names = {d.name for d in TABLE.chain(division)}
        named = [n for n in case["at"].split("/") if n]
        assert set(named) <= chain_names, f"{case['at']} is not the chain of {case['adcode']}: {chain_names}"
        assert division.name == named[-1]
    for code in case.get("candidates", []):
        assert TABLE.get(code) is not None, f"candidate {code} is not in the division table"
    if "ambiguous" in case["tags"] and "text" in case:
        leaves = [TABLE[c] for c in case["candidates"]]
        name = leaves[0].name
        assert all(d.name == name for d in leaves)
        if case["text"].startswith(name):  # nothing else in the text narrows it: every division of that name
            assert sorted(case["candidates"]) == sorted(d.adcode for d in TABLE if d.name == name)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_normaliser_returns_the_expected_division(case: dict[str, Any]) -> None:
    got = _run(case)
    if case.get("unresolved"):
        assert not got.resolved and got.adcode == ""
        if "candidates" in case:
            assert sorted(c.adcode for c in got.candidates) == sorted(case["candidates"])
        if "at" in case:
            province, city, _ = case["at"].split("/")
            assert (got.province, got.city, got.district) == (province, city, "")
            assert got.candidates, "a missing level lists the divisions below"
        return
    assert got.resolved, f"unresolved: {got}"
    assert got.adcode == case["adcode"]
    assert "/".join((got.province, got.city, got.district)) == case["at"]
    assert 0.5 <= got.confidence <= 1.0
    if "text" in case and "detail" in case:
        assert got.detail == case["detail"]
    if "expect_detail" in case:
        assert got.detail == case["expect_detail"]
