"""`orderhub address`, the geocoder factory and the AMap answer mapping (no network: a fake fetch)."""

from __future__ import annotations

import io
import sys
from urllib.parse import parse_qs, urlparse

import orjson
import pytest

from app.address import OfflineGeocoder
from app.cli import main
from app.domain.errors import TransientError
from app.domain.model import Address
from app.geocoders import make_geocoder
from app.geocoders.amap import AmapGeocoder, GeocoderError, parse_geocode
from app.routing.geocoding import DomesticGeocoder
from app.settings import Settings, SettingsError


class _Stdin:
    def __init__(self, data: bytes, tty: bool = False) -> None:
        self.buffer = io.BytesIO(data)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str],
         stdin: bytes = b"", tty: bool = False) -> tuple[int, list[dict], str]:
    monkeypatch.delenv("ORDERHUB_GEOCODER", raising=False)
    monkeypatch.setattr(sys, "stdin", _Stdin(stdin, tty))
    code = main(["address", *argv])
    out, err = capsys.readouterr()
    return code, [orjson.loads(line) for line in out.splitlines()], err


def test_address_text(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, rows, err = _run(monkeypatch, capsys, ["乌鲁木齐天山区解放北路1号"])
    assert code == 0 and err == ""
    assert rows == [{"province": "新疆维吾尔自治区", "city": "乌鲁木齐市", "district": "天山区", "adcode": "650102",
                     "detail": "解放北路1号", "confidence": rows[0]["confidence"], "resolved": True, "candidates": []}]


def test_address_stdin_one_object_per_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = "浙江杭州西湖区文三路\n朝阳区望京\n\n广东东莞长安镇\r\n".encode()
    code, rows, _ = _run(monkeypatch, capsys, ["-"], data)
    assert code == 0 and len(rows) == 4
    assert [r["adcode"] for r in rows] == ["330106", "", "", "441900"]
    assert [c["adcode"] for c in rows[1]["candidates"]] == ["110105", "220104"]
    assert rows[2]["resolved"] is False  # a blank line keeps its place in the output


def test_address_split_fields(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, rows, _ = _run(monkeypatch, capsys, ["--province", "浙江省", "--city", "杭州市", "--district", "西湖区",
                                               "杭州市余杭区文一西路"])
    assert code == 0 and rows[0]["resolved"] is False
    assert {c["adcode"] for c in rows[0]["candidates"]} == {"330106", "330110"}


@pytest.mark.parametrize(("argv", "stdin", "tty", "message"), [
    ([""], b"", False, "orderhub address: TEXT is empty"),
    ([], b"", True, "orderhub address: give TEXT, or - to read"),
    (["-"], b"ok\n\xff\xfe\n", False, "orderhub address: line 2: not UTF-8 text"),
    (["-"], b"x" * 600 + b"\n", False, "orderhub address: line 1: detail: longer than 512 characters"),
])
def test_address_bad_input_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                  argv: list[str], stdin: bytes, tty: bool, message: str) -> None:
    code, _, err = _run(monkeypatch, capsys, argv, stdin, tty)
    assert code == 2
    assert err.startswith(message) and err.count("\n") == 1


def test_bad_geocoder_setting_is_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ORDERHUB_GEOCODER", "google")
    assert main(["address", "北京市朝阳区"]) == 2
    assert "ORDERHUB_GEOCODER must be one of offline, amap" in capsys.readouterr().err


def test_make_geocoder_is_offline_by_default() -> None:
    geocoder = make_geocoder(Settings.from_env({}))
    assert isinstance(geocoder, DomesticGeocoder) and isinstance(geocoder.china, OfflineGeocoder)


def test_amap_needs_a_key() -> None:
    with pytest.raises(SettingsError, match="ORDERHUB_AMAP_KEY"):
        Settings.from_env({"ORDERHUB_GEOCODER": "amap"})
    settings = Settings.from_env({"ORDERHUB_GEOCODER": "amap", "ORDERHUB_AMAP_KEY": "s3cr3t-key"})
    geocoder = make_geocoder(settings)
    assert isinstance(geocoder, DomesticGeocoder) and isinstance(geocoder.china, AmapGeocoder)
    assert "s3cr3t-key" not in repr(settings) and settings.redacted()["amap_key"] == "***"


ONE_MATCH = {"status": "1", "info": "OK", "infocode": "10000", "count": "1", "geocodes": [{
    "formatted_address": "浙江省杭州市西湖区文三路90号", "country": "中国", "province": "浙江省", "citycode": "0571",
    "city": "杭州市", "district": "西湖区", "township": [], "adcode": "330106", "street": "文三路", "number": "90号",
    "location": "120.130000,30.280000", "level": "门牌号"}]}


def test_amap_one_precise_match_resolves() -> None:
    got = parse_geocode(ONE_MATCH, "文三路90号")
    assert (got.resolved, got.adcode, got.district, got.detail) == (True, "330106", "西湖区", "文三路90号")


def test_amap_municipality_and_several_matches() -> None:
    two = {"status": "1", "count": "2", "geocodes": [
        {"province": "北京市", "city": "北京市", "district": "朝阳区", "adcode": "110105", "level": "区县"},
        {"province": "吉林省", "city": "长春市", "district": "朝阳区", "adcode": "220104", "level": "区县"}]}
    got = parse_geocode(two, "")
    assert not got.resolved and [c.adcode for c in got.candidates] == ["110105", "220104"]


def test_amap_city_level_match_is_not_a_district() -> None:
    coarse = {"status": "1", "count": "1", "geocodes": [
        {"province": "浙江省", "city": "杭州市", "district": [], "adcode": "330100", "level": "市"}]}
    got = parse_geocode(coarse, "")
    assert not got.resolved and got.candidates[0].district == ""


def test_amap_error_status_raises() -> None:
    with pytest.raises(GeocoderError, match="INVALID_USER_KEY"):
        parse_geocode({"status": "0", "info": "INVALID_USER_KEY", "infocode": "10001"}, "")


def test_amap_geocoder_sends_the_whole_address_and_key() -> None:
    seen: list[str] = []

    def fake_fetch(url: str, timeout_s: float) -> dict:
        seen.append(url)
        return ONE_MATCH

    got = AmapGeocoder("secret", fetch=fake_fetch).normalize(
        Address(province="浙江省", city="杭州市", district="西湖区", detail="文三路90号"))
    query = parse_qs(urlparse(seen[0]).query)
    assert query["address"] == ["浙江省杭州市西湖区文三路90号"] and query["key"] == ["secret"]
    assert got.adcode == "330106"


def test_amap_network_failure_is_transient() -> None:
    def failing(url: str, timeout_s: float) -> dict:
        raise TransientError("amap: timed out")

    with pytest.raises(TransientError):
        AmapGeocoder("k", fetch=failing).normalize(Address(detail="x"))
