"""Connectors' pure parts: windows and cursors, dedup, the adaptive rate, the shops file."""

from __future__ import annotations

import pytest

from app.connectors.cursor import Cursor, MessageIds, Seen, next_window
from app.connectors.errors import ShopsFileError
from app.connectors.pacing import AdaptiveRate
from app.connectors.shops import parse_shops
from app.platforms.base import Window
from app.settings import Settings, SettingsError, parse_rates

# ------------------------------------------------------------------ windows


def test_window_starts_an_overlap_before_the_cursor_and_ends_a_settle_before_now() -> None:
    w = next_window(Cursor(1000.0), now=1100.4, overlap_s=30, settle_s=1, max_span_s=1800)
    assert w == Window(970.0, 1099.0)  # on the 1-second grid: end rounded down


def test_no_window_while_the_cursor_is_within_the_settle_time() -> None:
    assert next_window(Cursor(1000.0), now=1000.9, overlap_s=30, settle_s=1, max_span_s=1800) is None


def test_catching_up_goes_in_windows_no_wider_than_the_platform_allows() -> None:
    cursor = Cursor(0.0)
    spans = []
    for _ in range(5):
        w = next_window(cursor, now=10_000.0, overlap_s=60, settle_s=1, max_span_s=1800)
        assert w is not None
        spans.append(w.end - w.start)
        cursor = cursor.advanced(w.end, Seen(), 60)
    assert max(spans) <= 1800
    assert cursor.since == pytest.approx(5 * 1740.0)  # each window moves the cursor max_span - overlap


def test_consecutive_windows_overlap_so_a_late_write_is_listed_again() -> None:
    cursor = Cursor(1000.0)
    first = next_window(cursor, now=1020.0, overlap_s=10, settle_s=1, max_span_s=1800)
    assert first is not None
    cursor = cursor.advanced(first.end, Seen(), 10)
    second = next_window(cursor, now=1025.0, overlap_s=10, settle_s=1, max_span_s=1800)
    assert second is not None and second.start <= first.end - 9  # a change stamped 9 s before the first end
    assert second.end > first.end


def test_split_halves_cover_the_window_without_sharing_a_tick() -> None:
    w = Window(100.0, 111.0)
    a, b = w.split(1.0)
    assert (a.start, b.end) == (100.0, 111.0) and b.start == a.end + 1.0
    ms = Window(1.0, 1.01)
    a, b = ms.split(0.001)
    assert b.start == pytest.approx(a.end + 0.001) and a.end < b.start
    assert not Window(5.0, 5.0).splittable(1.0)


def test_aligned_window_keeps_only_whole_ticks_inside() -> None:
    assert Window(10.2, 20.7).aligned(1.0) == Window(11.0, 20.0)
    assert Window(10.0, 20.0).aligned(1.0) == Window(10.0, 20.0)


# ------------------------------------------------------------------ dedup


def test_seen_produces_each_change_once() -> None:
    seen = Seen()
    assert seen.claim("o1", 10.0, "PAID")[0]
    assert not seen.claim("o1", 10.0, "PAID")[0]  # listed again unchanged
    assert seen.claim("o1", 10.0, "SHIPPED")[0]  # same second, new status: a change
    assert not seen.claim("o1", 9.0, "UNPAID")[0]  # older than what was produced
    assert seen.claim("o1", 12.0, "SHIPPED")[0]


def test_a_released_claim_is_produced_again() -> None:
    seen = Seen()
    fresh, previous = seen.claim("o1", 10.0, "PAID")
    assert fresh
    seen.release("o1", previous)
    assert seen.is_new("o1", 10.0, "PAID")
    seen.claim("o1", 10.0, "PAID")
    fresh, previous = seen.claim("o1", 11.0, "SHIPPED")
    seen.release("o1", previous)
    assert not seen.is_new("o1", 10.0, "PAID") and seen.is_new("o1", 11.0, "SHIPPED")


def test_cursor_keeps_only_what_the_overlap_can_list_again_and_round_trips() -> None:
    seen = Seen({"old": (100.0, "A"), "recent": (195.0, "B")})
    cursor = Cursor(150.0).advanced(200.0, seen, overlap_s=10)
    assert cursor.since == 200.0 and set(cursor.seen) == {"recent"}
    assert Cursor.from_json(cursor.to_json()) == cursor
    # a restart resumes with the same dedup memory: the overlap lists "recent" again, not produced twice
    assert not Seen(Cursor.from_json(cursor.to_json()).seen).claim("recent", 195.0, "B")[0]


def test_message_ids_are_remembered_only_when_added_and_bounded() -> None:
    ids = MessageIds(size=2)
    assert "a" not in ids
    ids.add("a")
    ids.add("b")
    ids.add("c")
    assert "a" not in ids and "b" in ids and "c" in ids


# ------------------------------------------------------------------ adaptive rate


def test_adaptive_rate_halves_on_the_limit_error_and_recovers_step_by_step() -> None:
    rate = AdaptiveRate(10.0, recover_s=1.0)
    rate.on_rate_limited(now=0.0)
    assert rate.rate == 5.0 and rate.lowered
    rate.on_success(now=0.5)  # too soon
    assert rate.rate == 5.0
    t = 1.0
    while rate.lowered:
        rate.on_success(now=t)
        t += 1.0
    assert rate.rate == 10.0 and t <= 7.0  # +1 rps per second of quiet: back in 5 s


def test_adaptive_rate_never_drops_below_its_floor_and_honours_retry_after() -> None:
    rate = AdaptiveRate(10.0)
    for i in range(20):
        rate.on_rate_limited(now=float(i), retry_after_s=2.0)
    assert rate.rate == pytest.approx(0.5)
    assert rate.paused_until == 21.0 and rate.limited == 20


# ------------------------------------------------------------------ shops file

GOOD = """
shops:
  - channel: taobao
    shop_id: s1
    base_url: http://127.0.0.1:9/taobao/
    app_key: k
    app_secret_env: TB_SECRET
  - channel: wechat
    shop_id: s2
    base_url: https://api.weixin.qq.com
    app_key: wx
    app_secret: "x"
    rps: 2
    pull: false
"""


def _parse(text: str, fmt: str = "yaml", env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return parse_shops(text, fmt=fmt, shop_rps={"taobao": 4.0}, app_rps={"taobao": 9.0}, overlap_s=60,
                       env={"TB_SECRET": "s3cret"} if env is None else env)


def test_shops_file_defaults_come_from_the_settings() -> None:
    tb, wx = _parse(GOOD)
    assert (tb.base_url, tb.app_secret, tb.token, tb.rps, tb.app_rps, tb.overlap_s) == (
        "http://127.0.0.1:9/taobao", "s3cret", "s1", 4.0, 9.0, 60.0)
    assert wx.rps == 2.0 and wx.app_rps == 10.0 and not wx.pull
    assert "s3cret" not in repr(tb)


def test_shops_file_in_toml() -> None:
    toml = '[[shops]]\nchannel = "jd"\nshop_id = "j1"\nbase_url = "http://h"\napp_key = "a"\napp_secret = "b"\n'
    (shop,) = _parse(toml, "toml")
    assert shop.channel == "jd" and shop.rps == 10.0


@pytest.mark.parametrize("text, message", [
    ("shops: []", "non-empty list"),
    ("shops: [{channel: myspace, shop_id: a, base_url: http://h, app_key: k, app_secret: s}]", "channel 'myspace'"),
    ("shops: [{channel: jd, base_url: http://h, app_key: k, app_secret: s}]", "shop_id is missing"),
    ("shops: [{channel: jd, shop_id: a, base_url: ftp://h, app_key: k, app_secret: s}]", "base_url"),
    ("shops: [{channel: jd, shop_id: a, base_url: http://h, app_key: k}]", "app_secret"),
    ("shops: [{channel: jd, shop_id: a, base_url: http://h, app_key: k, app_secret_env: NOPE}]", "NOPE"),
    ("shops: [{channel: jd, shop_id: a, base_url: http://h, app_key: k, app_secret: s, rps: 0}]", "rps must"),
    ("shops: [{channel: jd, shop_id: a, base_url: http://h, app_key: k, app_secret: s, rsp: 3}]", "unknown field"),
    ("shops: [{channel: jd, shop_id: a, base_url: http://h, app_key: k, app_secret: s},"
     " {channel: jd, shop_id: a, base_url: http://h, app_key: k, app_secret: s}]", "listed twice"),
    ("shops: [unclosed", "not valid YAML"),
])
def test_bad_shops_files_name_the_shop_and_field(text: str, message: str) -> None:
    with pytest.raises(ShopsFileError, match=message):
        _parse(text)


def test_rate_settings_are_validated() -> None:
    assert parse_rates("taobao=5, jd=0.5", "X") == {"taobao": 5.0, "jd": 0.5}
    with pytest.raises(SettingsError, match="ORDERHUB_CONNECTOR_APP_RPS"):
        Settings.from_env({"ORDERHUB_CONNECTOR_APP_RPS": "taobao=fast"})
    with pytest.raises(SettingsError, match="HEADROOM"):
        Settings.from_env({"ORDERHUB_CONNECTOR_HEADROOM_PCT": "150"})


def test_simulate_and_connect_refuse_bad_input_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path,  # type: ignore[no-untyped-def]
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import main

    monkeypatch.delenv("ORDERHUB_CONNECTOR_SHOPS", raising=False)
    bad_shops = tmp_path / "shops.yaml"
    bad_shops.write_text("shops: [{channel: jd, shop_id: a, base_url: http://h, app_key: k}]")
    assert main(["simulate", "--channels", "myspace"]) == 2
    assert main(["simulate", "--error-share", "2"]) == 2
    assert main(["simulate", "--skew", "jd=soon"]) == 2
    assert main(["connect"]) == 2
    assert main(["connect", "--shops", str(tmp_path / "missing.yaml")]) == 2
    assert main(["connect", "--shops", str(bad_shops)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 6 and all(line.startswith("orderhub") for line in err), err
    assert "shops[0] (jd/a): app_secret" in err[-1]


def test_the_live_memory_outlasts_the_checkpoint_for_late_pushes() -> None:
    seen = Seen({"late": (150.0, "PAID"), "recent": (195.0, "B")})
    cursor = Cursor(100.0).advanced(200.0, seen, overlap_s=10, keep_s=300)
    assert set(cursor.seen) == {"recent"}  # the checkpoint: what the overlap can list again
    assert not seen.claim("late", 150.0, "PAID")[0]  # a push of it arriving late is still recognised
