"""Pure: the offline geocoder — a receiver address to province, city, district and adcode.

Policy (docs/address.md explains it with examples):

- Each source is read on its own: the platform's split fields (province, city, district,
  read in that order, each in the context of the ones before) and the free-text line
  (the detail, or the whole address when it is all there is).
- Sources that agree are combined: the most specific division any of them names wins
  (split 杭州市 + text 西湖区… → 杭州市西湖区).
- Split fields that contradict each other, or a free text that names a different division
  *in full* (杭州市余杭区… against split 西湖区), make the address unresolved with both
  readings as candidates: a person decides, nothing is guessed. A free text whose
  contradicting names are only short forms (南京西路 in a Shanghai address) is a street,
  not a contradiction: it stays in the detail.
- An address is resolved only when exactly one most-specific division (a county, or a
  city / province-administered county-level city without counties below it) remains.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from app.address.divisions import Division, DivisionTable, load_divisions
from app.address.errors import AddressError
from app.address.matcher import Evidence, Hypotheses, NameIndex, Scan, how_named, merge
from app.address.model import Candidate, NormalizedAddress
from app.domain.model import Address

__all__ = ["MAX_ADDRESS_CHARS", "OfflineGeocoder", "normalize_text"]

MAX_ADDRESS_CHARS = 512
MUNICIPALITIES = frozenset({"110000", "120000", "310000", "500000"})

#: confidence lost per level the address left out, named by its short form, or read as a county short name
MISSING_LEVEL = 0.05
SHORT_NAME = 0.03
COUNTY_SHORT_NAME = 0.1
IGNORED_FIELD = 0.1
MIN_RESOLVED_CONFIDENCE = 0.5


@dataclass(frozen=True, slots=True)
class _Reading:
    """The outcome of reading the administrative part of an address (cached; no detail)."""

    hypotheses: Hypotheses | None
    conflict: tuple[str, ...] = ()
    #: split fields that named nothing the table knows (a town, an abolished district)
    ignored: int = 0
    #: False for a free text that named divisions by short names only (南京西路 reads 南京)
    strong: bool = True


class OfflineGeocoder:
    """Implements `Geocoder` from the shipped division table; no network, no I/O after the first load."""

    def __init__(self, table: DivisionTable | None = None, cache_size: int = 65536) -> None:
        self.table = table if table is not None else load_divisions()
        self.index = NameIndex(self.table)
        self._levels_cache: dict[str, tuple[str, str, str]] = {}
        self._confidence_cache: dict[tuple[str, Evidence, int], float] = {}
        self._read_fields = functools.lru_cache(maxsize=cache_size)(self._read_fields_uncached)
        self._normalize_line = functools.lru_cache(maxsize=cache_size)(self._normalize_line_uncached)

    # -- the Geocoder protocol --------------------------------------------------------

    def normalize(self, address: Address) -> NormalizedAddress:
        province = _clean(address.province, "province")
        city = _clean(address.city, "city")
        district = _clean(address.district, "district")
        detail = _clean(address.detail, "detail")
        fields = self._read_fields(province, city, district)
        scan = self.index.scan(detail)
        if scan.end == 0 and fields.hypotheses and not self._all_leaves(fields.hypotheses):
            # 西湖文三路 under split 杭州市: county short names count below the split fields
            scan = self.index.scan(detail, context=fields.hypotheses)
        return self._combine(fields, _text_reading(scan), detail, scan.end)

    def normalize_text(self, text: str) -> NormalizedAddress:
        return self._normalize_line(_clean(text, "address"))

    # -- reading ------------------------------------------------------------------------

    def _normalize_line_uncached(self, line: str) -> NormalizedAddress:
        scan = self.index.scan(line)
        return self._combine(_Reading(None), _text_reading(scan), line, scan.end)

    def _read_fields_uncached(self, province: str, city: str, district: str) -> _Reading:
        # Each field is read alone (or, failing that, below what the fields before it said);
        # readings that agree are merged, one that contradicts them starts a second group.
        groups: list[Hypotheses] = []
        ignored = 0
        for value in (province, city, district):
            if not value:
                continue
            scan = self.index.scan(value)
            if scan.hypotheses is None and len(groups) == 1:
                # a district field of 西湖 under 杭州市
                scan = self.index.scan(value, context=groups[0])
            if scan.hypotheses is None or not scan.end:
                ignored += 1  # a name the table does not know (a town, an abolished district)
                continue
            for i, group in enumerate(groups):
                merged = merge(self.table, group, scan.hypotheses)
                if merged is not None:
                    groups[i] = merged
                    break
            else:
                if (len(groups) == 1 and len(groups[0]) == 1 and self._all_leaves(groups[0])
                        and len(scan.hypotheses) > 1):
                    # the fields before already name one county, and this one is a generic
                    # name found in several places (JD's 上海/徐汇区/城区): a sub-area, not a
                    # contradiction; a field naming one other division still conflicts
                    ignored += 1
                    continue
                groups.append(scan.hypotheses)
        if len(groups) > 1:
            return _Reading(None, conflict=tuple(code for group in groups for code in group))
        return _Reading(groups[0] if groups else None, ignored=ignored)

    def _all_leaves(self, hyps: Hypotheses) -> bool:
        return self.table.leaves.issuperset(hyps)

    # -- combining --------------------------------------------------------------------

    def _combine(self, fields: _Reading, text: _Reading | None, line: str, prefix_end: int) -> NormalizedAddress:
        detail = line[prefix_end:]
        if fields.conflict:
            return self._unresolved(detail, [self.table[c] for c in fields.conflict])
        hyps = fields.hypotheses
        ignored = fields.ignored
        if text is not None and text.hypotheses is not None:
            if hyps is None:
                hyps = text.hypotheses
            else:
                merged = merge(self.table, hyps, text.hypotheses)
                if merged is None and text.strong:  # the text names another division in full
                    return self._unresolved(detail, [self.table[c] for c in (*hyps, *text.hypotheses)])
                if merged is None:
                    ignored += 1  # short names only (南京西路): a street, not a contradiction
                    detail = line
                else:
                    hyps = merged
        if not hyps:
            return NormalizedAddress(detail=detail)
        if len(hyps) > 1:
            return self._unresolved(detail, [self.table[c] for c in hyps])
        (code, evidence), = hyps.items()
        division = self.table[code]
        if not self.table.is_leaf(division):
            return self._partial(division, detail)
        return self._resolved(division, evidence, ignored, detail)

    # -- output ---------------------------------------------------------------------------

    def _levels(self, division: Division) -> tuple[str, str, str]:
        """(province, city, district) names of a division, the way the SOM spells them."""
        levels = self._levels_cache.get(division.adcode)
        if levels is None:
            levels = self._levels_cache[division.adcode] = self._levels_of(division)
        return levels

    def _levels_of(self, division: Division) -> tuple[str, str, str]:
        chain = self.table.chain(division)
        province = chain[0]
        if division.level == "province":
            return province.name, province.name if province.adcode in MUNICIPALITIES else "", ""
        if province.adcode in MUNICIPALITIES:
            return province.name, province.name, division.name if division.level == "county" else ""
        city = next((d for d in chain if d.level == "city"), None)
        if city is None:  # province-administered county-level city (济源, 仙桃, 石河子, 定安)
            return province.name, division.name, ""
        return province.name, city.name, division.name if division.level == "county" else ""

    def _candidate(self, division: Division) -> Candidate:
        province, city, district = self._levels(division)
        return Candidate(province=province, city=city, district=district, adcode=division.adcode)

    def _resolved(self, division: Division, evidence: Evidence, ignored: int, detail: str) -> NormalizedAddress:
        key = (division.adcode, evidence, ignored)
        confidence = self._confidence_cache.get(key)
        if confidence is None:
            confidence = self._confidence_cache[key] = self._confidence(division, evidence, ignored)
        province, city, district = self._levels(division)
        return NormalizedAddress(province=province, city=city, district=district, adcode=division.adcode,
                                 detail=detail, confidence=confidence, resolved=True)

    def _confidence(self, division: Division, evidence: Evidence, ignored: int) -> float:
        confidence = 1.0 - IGNORED_FIELD * ignored
        for node in self.table.chain(division):
            how = how_named(evidence, node.level)
            if how is None:
                confidence -= MISSING_LEVEL
            elif how == "short":
                confidence -= COUNTY_SHORT_NAME if node.level == "county" else SHORT_NAME
        return round(max(confidence, MIN_RESOLVED_CONFIDENCE), 2)

    def _partial(self, division: Division, detail: str) -> NormalizedAddress:
        """Known down to a province or city with divisions below: the next level is missing."""
        province, city, _ = self._levels(division)
        below = self.table.children.get(division.adcode, [])
        return NormalizedAddress(province=province, city=city, detail=detail,
                                 candidates=tuple(self._candidate(d) for d in below))

    def _unresolved(self, detail: str, divisions: list[Division]) -> NormalizedAddress:
        """Several divisions fit: keep what they share, list them all, guess none."""
        unique = list({d.adcode: d for d in divisions}.values())
        levels = [self._levels(d) for d in unique]
        province = levels[0][0] if all(lv[0] == levels[0][0] for lv in levels) else ""
        city = levels[0][1] if province and all(lv[1] == levels[0][1] for lv in levels) else ""
        return NormalizedAddress(province=province, city=city, detail=detail,
                                 candidates=tuple(self._candidate(d) for d in sorted(unique, key=lambda d: d.adcode)))


def _text_reading(scan: Scan) -> _Reading | None:
    if not scan.end or scan.hypotheses is None:
        return None
    return _Reading(scan.hypotheses, strong=scan.strong)


def _clean(value: str, field: str) -> str:
    if not isinstance(value, str):
        raise AddressError(f"{field}: expected text, got {type(value).__name__}")
    if len(value) > MAX_ADDRESS_CHARS:
        raise AddressError(f"{field}: longer than {MAX_ADDRESS_CHARS} characters")
    # full-width digits, letters and spaces (１２号, ＡＢ座) become ASCII
    return unicodedata.normalize("NFKC", value).strip()


@functools.cache
def _default() -> OfflineGeocoder:
    return OfflineGeocoder()


def normalize_text(text: str) -> NormalizedAddress:
    """Normalise one free-text address line with the shipped table."""
    return _default().normalize_text(text)
