"""A realistic mix of receiver addresses with known answers, for the address benchmark and
the accuracy test.

Each sample is built from one division of the shipped table, written the way buyers and
platforms write addresses: in full, with short names, with levels left out, as platform
split fields (sometimes repeating the address in the detail, sometimes contradicting it),
with separators and noise. The generator knows the true division, and it knows when the
written form is ambiguous (a district name shared by several cities with no city given,
split fields contradicting the text): those must come back unresolved.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from app.address.divisions import Division, DivisionTable, load_divisions
from app.domain.model import Address

STREETS = ("中山路", "人民路", "解放路", "建设路", "北京路", "南京路", "长江路", "和平路", "朝阳路", "新华路",
           "文化路", "幸福路", "胜利路", "青年路", "迎宾大道", "滨江大道", "工业园区", "开发区管委会",
           "学府街", "东风路", "西大街", "环城北路", "世纪大道", "花园路")
PLACES = ("小区", "花园", "公寓", "大厦", "新村", "家园", "广场")
#: districts of the big cities, where most parcels go
BIG_CITIES = ("110000", "310000", "440100", "440300", "330100", "320100", "510100", "420100", "500000",
              "610100", "120000", "320500")


@dataclass(frozen=True, slots=True)
class Sample:
    form: str
    #: the free-text line, or None for split fields
    text: str | None
    address: Address | None
    #: the true adcode when the form is resolvable; "" when it must stay unresolved
    expected: str


class MixGenerator:
    def __init__(self, table: DivisionTable | None = None, seed: int = 4) -> None:
        self.table = table or load_divisions()
        self.rng = random.Random(seed)
        self.leaves = sorted((d for d in self.table if self.table.is_leaf(d) and d.level != "province"),
                             key=lambda d: d.adcode)
        self.big = [d for d in self.leaves if any(a in self.table.lineage[d.adcode] for a in BIG_CITIES)]
        self.by_name: dict[str, list[Division]] = {}
        for d in self.table:
            self.by_name.setdefault(d.name, []).append(d)

    def detail(self) -> str:
        r = self.rng
        street = r.choice(STREETS)
        if r.random() < 0.5:
            return f"{street}{r.randint(1, 999)}号"
        return f"{street}{r.randint(1, 300)}号{r.choice('东南西北')}{r.choice(PLACES)}{r.randint(1, 30)}栋{r.randint(101, 2808)}室"

    def sample(self) -> Sample:
        r = self.rng
        leaf = r.choice(self.big) if r.random() < 0.35 else r.choice(self.leaves)
        chain = self.table.chain(leaf)
        province = chain[0]
        city = next((d for d in chain if d.level == "city"), None)
        county = leaf if leaf.level == "county" else None
        detail = self.detail()
        roll = r.random()
        p_full, c_full, k_full = province.name, city.name if city else "", county.name if county else ""
        p_short = province.short or province.name
        c_short = (city.short or city.name) if city else ""
        if roll < 0.30:
            return Sample("full", p_full + c_full + k_full + detail, None, leaf.adcode)
        if roll < 0.48:
            return Sample("short", p_short + c_short + k_full + detail, None, leaf.adcode)
        if roll < 0.58 and city:
            return Sample("no_province", r.choice((c_full, c_short)) + k_full + detail, None, leaf.adcode)
        if roll < 0.63 and county:
            same = [d for d in self.by_name[county.name] if province.adcode in self.table.lineage[d.adcode]]
            return Sample("no_city", p_short + county.name + detail, None, leaf.adcode if len(same) == 1 else "")
        if roll < 0.68 and county:
            same = self.by_name[county.name]
            return Sample("district_only", county.name + detail, None, leaf.adcode if len(same) == 1 else "")
        if roll < 0.71 and county and county.short and city:
            # 杭州西湖文三路: county short name after its city (resolvable when unique below the city)
            same = [d for d in self.table.children.get(city.adcode, []) if d.short == county.short]
            return Sample("county_short", c_short + county.short + detail, None,
                          leaf.adcode if len(same) == 1 else "")
        if roll < 0.73 and city and county:
            # 浙江杭州文三路: the district is missing, so the address must be held
            return Sample("city_only", p_short + c_short + detail, None, "")
        if roll < 0.75:
            sep = r.choice((" ", "，", "-", "  "))
            prefix = r.choice(("", "中国", "中国 "))
            parts = [p for p in (p_full, c_full, k_full) if p]
            return Sample("separators", prefix + sep.join(parts) + sep + detail, None, leaf.adcode)
        district = k_full if city else ""
        if city and not county and r.random() < 0.5:
            district = r.choice(("长安", "虎门", "小榄", "古镇", "那大")) + "镇"  # a town where no county exists (东莞)
        fields = Address(province=r.choice((p_full, p_short)), city=c_full if city else (county.name if county else ""),
                         district=district, detail=detail)
        if roll < 0.93:
            return Sample("split", None, fields, leaf.adcode)
        if roll < 0.97:
            full = p_full + c_full + k_full + detail
            return Sample("split_repeated", None, Address(fields.province, fields.city, fields.district,
                                                          detail=full), leaf.adcode)
        # the text names another district of another city in full: a person must decide
        other = r.choice(self.leaves)
        while other.level != "county" or any(a in self.table.lineage[other.adcode]
                                               for a in self.table.lineage[leaf.adcode] if a != province.adcode):
            other = r.choice(self.leaves)
        other_chain = "".join(d.name for d in self.table.chain(other))
        return Sample("split_conflict", None, Address(fields.province, fields.city, fields.district,
                                                      detail=other_chain + detail), "")

    def samples(self, n: int) -> list[Sample]:
        return [self.sample() for _ in range(n)]


def realistic_mix(n: int, seed: int = 4) -> list[Sample]:
    return MixGenerator(seed=seed).samples(n)
