"""Pure: the compiled name matcher — finds division names at the start of an address line.

Every official name and short name is a key of one dict; per first two characters the
matcher knows which key lengths exist (longest first), so finding the names at a
position costs one or two dict look-ups, whatever the size of the table.

Scanning reads names from the start of the text, one after another, and keeps the set of
divisions that are consistent with everything read so far (`Hypotheses`): 浙江 → {浙江省},
杭州 → {杭州市}, 西湖区 → {杭州市西湖区}. It stops at the first position where no name
fits that set, or when every hypothesis is a leaf; the rest of the text is the detail.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.address.divisions import Division, DivisionTable

__all__ = ["Evidence", "Hypotheses", "NameIndex", "Scan", "how_named", "merge"]

#: which levels the text named (bits 0-2: province, city, county) and which of those only by
#: their short name (the same bits shifted left by 3): 浙江杭州西湖区 = 0b011_111
Evidence = int
#: adcode → how the levels of that division were named
Hypotheses = dict[str, Evidence]
LEVEL_BIT = {"province": 1, "city": 2, "county": 4}
_POPCOUNT = (0, 1, 1, 2, 1, 2, 2, 3)

SEPARATORS = frozenset(" \t\u3000,，、/|-_·.:：;；()（）[]【】")
LEADING_NOISE = ("中华人民共和国", "中国")
#: a county short name followed by one of these is a street or a place, not the county
#: (朝阳门, 西湖大道, 鼓楼广场): only the full name (朝阳区) counts there
STREET_CHARS = frozenset("路街道巷弄门桥大广")
#: no address names more divisions than this (北京 北京市 朝阳区 is three): bounds the work on odd input
MAX_NAMES = 8
#: the kind of a division written after its short name, where the full name is longer (河南县, 伊犁州)
KIND_CHARS = frozenset("省市区县旗州盟")


@dataclass(frozen=True, slots=True)
class _Entry:
    division: Division
    short: bool
    #: LEVEL_BIT of the division's level
    bit: int
    #: a county's short name (西湖): only counts below something already read
    county_short: bool


@dataclass(frozen=True, slots=True)
class Scan:
    """What a scan of one piece of text found."""

    hypotheses: Hypotheses | None
    #: index in the text where the detail starts
    end: int
    #: True when at least one name was written in full (with 省/市/区/县...)
    strong: bool


class NameIndex:
    def __init__(self, table: DivisionTable) -> None:
        self.table = table
        self._entries: dict[str, list[_Entry]] = {}
        for d in table:
            bit = LEVEL_BIT[d.level]
            self._add(d.name, _Entry(d, short=False, bit=bit, county_short=False))
            if d.short:
                self._add(d.short, _Entry(d, short=True, bit=bit, county_short=d.level == "county"))
        lengths: dict[str, set[int]] = {}
        for key in self._entries:  # every key has at least two characters
            lengths.setdefault(key[:2], set()).add(len(key))
        self._lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in lengths.items()}
        #: key → (entries, entries without county short names, any full name): precomputed for `_read`
        self._compiled: dict[str, tuple[list[_Entry], list[_Entry], bool]] = {
            key: (entries, [e for e in entries if not e.county_short],
                  any(not e.short for e in entries))
            for key, entries in self._entries.items()}

    def _add(self, key: str, entry: _Entry) -> None:
        self._entries.setdefault(key, []).append(entry)

    def scan(self, text: str, start: int = 0, context: Hypotheses | None = None) -> Scan:
        """Read division names from `text[start:]`; `context` is what other fields already said."""
        found = self._read(text, _skip_noise(text, start), context, MAX_NAMES)
        if found is None:
            return Scan(hypotheses=context, end=start, strong=False)
        end, hyps, strong = found
        return Scan(hypotheses=hyps, end=end, strong=strong)

    def _read(self, text: str, pos: int, hyps: Hypotheses | None,
              budget: int) -> tuple[int, Hypotheses, bool] | None:
        """The reading from `pos` on that gets furthest into the text (None: no name at `pos`).

        Longest names are tried first, but a shorter one wins when it lets the reading go
        on: 青岛市南区 is 青岛 + 市南区, not 青岛市 + "南区". Only positions with more than
        one way on are explored recursively; the usual address is read in one loop.
        """
        table = self.table
        leaves = table.leaves
        compiled = self._compiled
        lengths = self._lengths
        n = len(text)
        result: tuple[int, Hypotheses, bool] | None = None
        strong = False
        while pos < n and budget > 0 and not (hyps and leaves.issuperset(hyps)):
            options: list[tuple[int, Hypotheses, bool]] = []
            for length in lengths.get(text[pos : pos + 2], ()):
                found = compiled.get(text[pos : pos + length])
                if found is None:
                    continue
                after = text[pos + length] if pos + length < n else ""
                stepped = _step(table, hyps, found[1] if after in STREET_CHARS else found[0])
                if stepped is None:
                    continue
                options.append((_skip_separators(text, pos + length), stepped, found[2]))
                if after and after in KIND_CHARS and not found[2]:
                    # 河南县 for 河南蒙古族自治县, 伊犁州 for 伊犁哈萨克自治州
                    options.append((_skip_separators(text, pos + length + 1), stepped, False))
                if leaves.issuperset(stepped):
                    break  # down to the most specific level: shorter names cannot do better
            if not options:
                break
            if len(options) > 1:
                options = self._worth_exploring(text, options)
            budget -= 1
            if len(options) == 1:
                pos, hyps, named_in_full = options[0]
                strong = strong or named_in_full
                result = (pos, hyps, strong)
                continue
            best: tuple[int, Hypotheses, bool] | None = None
            for nxt, stepped, named_in_full in options:
                further = self._read(text, nxt, stepped, budget)
                reading = (nxt, stepped, named_in_full) if further is None else \
                    (further[0], further[1], named_in_full or further[2])
                if best is None or reading[0] > best[0]:
                    best = reading
                if leaves.issuperset(best[1]):
                    break
            assert best is not None
            return best[0], best[1], strong or best[2]
        return result


    def _worth_exploring(self, text: str, options: list[tuple[int, Hypotheses, bool]]) -> list[tuple[int, Hypotheses, bool]]:
        """The longest option, and the others that end elsewhere and have a name to read next."""
        kept = [options[0]]
        ends = {options[0][0]}
        for option in options[1:]:
            nxt = option[0]
            if nxt not in ends and text[nxt : nxt + 2] in self._lengths:
                kept.append(option)
                ends.add(nxt)
        return kept


def _skip_separators(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in SEPARATORS:
        pos += 1
    return pos


def _skip_noise(text: str, pos: int) -> int:
    pos = _skip_separators(text, pos)
    for noise in LEADING_NOISE:
        if text.startswith(noise, pos):
            return _skip_separators(text, pos + len(noise))
    return pos


def _evidence(base: Evidence, entry: _Entry) -> Evidence:
    bit = entry.bit
    if entry.short:
        return base if base & bit else base | bit | (bit << 3)
    return (base | bit) & ~(bit << 3)


def how_named(evidence: Evidence, level: str) -> str | None:
    """"full", "short", or None when the text did not name that level."""
    bit = LEVEL_BIT[level]
    if not evidence & bit:
        return None
    return "short" if evidence & (bit << 3) else "full"


def _step(table: DivisionTable, hyps: Hypotheses | None, entries: list[_Entry]) -> Hypotheses | None:
    """The hypotheses after reading one more name, or None when the name fits none of them.

    A county's short name (西湖 for 西湖区) only counts below something already read:
    alone it is too often part of a street or a place name.
    """
    if not entries:
        return None
    if hyps is None:
        first = {e.division.adcode: _evidence(0, e) for e in entries if not e.county_short}
        return first or None
    lineage = table.lineage
    deeper: Hypotheses = {}
    county_shorts = set()
    for e in entries:
        code = e.division.adcode
        above = lineage[code]
        for h, ev in hyps.items():
            if h != code and h in above:
                deeper[code] = _better(deeper.get(code), _evidence(ev, e))
                if e.county_short:
                    county_shorts.add(code)
    if deeper:
        # 乌鲁木齐 after 新疆 is the city, not also its 乌鲁木齐县: a county's short name
        # only counts when nothing else of that spelling fits
        named = {c: ev for c, ev in deeper.items() if c not in county_shorts}
        return named or deeper
    same: Hypotheses = {}
    for h, ev in hyps.items():
        above = lineage[h]
        for e in entries:
            if e.division.adcode in above and not e.county_short:
                same[h] = _better(same.get(h), _evidence(ev, e))
    return same or None


def _better(current: Evidence | None, new: Evidence) -> Evidence:
    if current is None:
        return new
    return new if _score(new) > _score(current) else current


def _score(ev: Evidence) -> tuple[int, int]:
    named = ev & 7
    return _POPCOUNT[named], _POPCOUNT[named & ~(ev >> 3)]


def _union(a: Evidence, b: Evidence) -> Evidence:
    """Each level as well named as either reading named it."""
    named = (a | b) & 7
    full = (a & 7 & ~(a >> 3)) | (b & 7 & ~(b >> 3))
    return named | ((named & ~full) << 3)


def merge(table: DivisionTable, a: Hypotheses, b: Hypotheses) -> Hypotheses | None:
    """What two independent readings of one address agree on, or None when they disagree."""
    out: Hypotheses = {}
    lineage = table.lineage
    for ca, eva in a.items():
        for cb, evb in b.items():
            if ca in lineage[cb]:
                keep = cb
            elif cb in lineage[ca]:
                keep = ca
            else:
                continue
            out[keep] = _better(out.get(keep), _union(eva, evb))
    return out or None
