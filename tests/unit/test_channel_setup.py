"""Channels at start-up (ORDERHUB_CHANNELS_DIR, modes), shadow mode, and the normalize/channels commands."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from app.channel_setup import load_channels
from app.channels import MappingError, builtin_registry
from app.cli import main
from app.domain import transitions
from app.domain.channel_modes import ChannelMode, apply_mode, parse_channel_modes
from app.domain.model import CommandType, OrderStatus
from app.normalize import NormalizeError, run_normalize
from app.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
WECHAT = (ROOT / "app" / "channels" / "mappings" / "wechat.yaml").read_text(encoding="utf-8")
NOW = datetime(2026, 11, 11, tzinfo=UTC)


def settings(**env: str) -> Settings:
    return Settings.from_env({f"ORDERHUB_{k.upper()}": v for k, v in env.items()})


def fixture(channel: str, name: str) -> dict:
    return json.loads((FIXTURES / channel / f"{name}.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- ORDERHUB_CHANNELS_DIR


def test_a_new_channel_from_a_file_alone(tmp_path: Path) -> None:
    (tmp_path / "acmeshop.yaml").write_text(WECHAT.replace("channel: wechat", "channel: acmeshop"), encoding="utf-8")
    (tmp_path / "README.txt").write_text("not a mapping", encoding="utf-8")
    setup = load_channels(settings(channels_dir=str(tmp_path)))
    assert "acmeshop" in setup.registry and "wechat" in setup.registry
    assert setup.source("acmeshop") == str(tmp_path / "acmeshop.yaml")
    assert setup.source("wechat") == "built-in"
    order = setup.registry.get("acmeshop").adapt(fixture("wechat", "paid"), shop_id="s")
    assert order.oli == "acmeshop-s-3720000000000000102" and order.status is OrderStatus.PAID


def test_a_file_replaces_the_built_in_of_its_name(tmp_path: Path) -> None:
    changed = WECHAT.replace("20:  {status: PAID, meaning: 待发货}", "20:  {status: PAID, hold: manual_check}")
    (tmp_path / "wechat.yaml").write_text(changed, encoding="utf-8")
    setup = load_channels(settings(channels_dir=str(tmp_path)))
    assert setup.source("wechat").endswith("wechat.yaml")
    assert setup.registry.get("wechat").adapt(fixture("wechat", "paid"), shop_id="s").holds[0].reason == "manual_check"


@pytest.mark.parametrize(("name", "text", "message"), [
    ("acme.yaml", "channel: acme\nstatus: {code: s}\n", "acme.yaml: status.table: expected a non-empty mapping"),
    ("acme.yaml", WECHAT.replace("channel: wechat", "channel: other"), "acme.yaml: channel: 'other' does not match"),
    ("acme.yml", "channel: acme\n  bad: [indent\n", "acme.yml: line 2: not valid YAML"),
])
def test_a_bad_file_is_refused_naming_it(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_channels(settings(channels_dir=str(tmp_path)))
    assert message in str(caught.value) and str(tmp_path) in str(caught.value)


def test_channels_dir_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="not a folder"):
        load_channels(settings(channels_dir=str(tmp_path / "missing")))


def test_bad_mapping_file_stops_the_cli_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text("channel: acme\nfields: {}\nstatus: {code: '[['}\n", encoding="utf-8")
    env = {"ORDERHUB_CHANNELS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "app.cli", "channels"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "acme.yaml: status.code: invalid JMESPath" in lines[0], done.stderr


# ---------------------------------------------------------------- modes


def test_modes_parse_and_must_name_loaded_channels() -> None:
    assert parse_channel_modes("douyin=shadow, kuaishou=off,taobao=live") == {
        "douyin": ChannelMode.SHADOW, "kuaishou": ChannelMode.OFF, "taobao": ChannelMode.LIVE}
    assert parse_channel_modes("") == {}
    for bad in ("douyin", "douyin=maybe", "douyin=off,douyin=live", "Dou Yin=off"):
        with pytest.raises(ValueError):
            parse_channel_modes(bad)
    with pytest.raises(SettingsError, match="ORDERHUB_CHANNEL_MODES"):
        settings(channel_modes="douyin=maybe")
    with pytest.raises(SettingsError, match="not loaded: lazada"):
        load_channels(settings(channel_modes="lazada=off"))
    setup = load_channels(settings(channel_modes="douyin=shadow,kuaishou=off"))
    assert (setup.mode("douyin"), setup.mode("kuaishou"), setup.mode("wechat")) == (
        ChannelMode.SHADOW, ChannelMode.OFF, ChannelMode.LIVE)


def test_shadow_orders_get_events_and_never_commands() -> None:
    live = builtin_registry().get("douyin").adapt(fixture("douyin", "paid_wrapped"), shop_id="s")
    assert apply_mode(live, ChannelMode.OFF) is None
    assert apply_mode(live, ChannelMode.LIVE) is live
    shadow = apply_mode(live, ChannelMode.SHADOW)
    assert shadow is not None and shadow.shadow and not live.shadow
    routing = transitions.RoutingDefaults()

    decision = transitions.apply_channel_update(None, shadow, (), NOW, routing)
    assert decision.commands == ()
    assert [e.type for e in decision.events] == ["OrderCreated"]
    assert all(e.shadow and e.order.shadow for e in decision.events)
    assert orjson.loads(orjson.dumps(decision.events[0]))["shadow"] is True

    # the channel goes live: the order's next update clears the flag and it ships once
    assert decision.order is not None
    later = apply_mode(live, ChannelMode.LIVE)
    assert later is not None
    later = replace(later, updated_at=later.updated_at.replace(second=59))
    went_live = transitions.apply_channel_update(decision.order, later, (), NOW, routing)
    assert [c.type for c in went_live.commands] == [CommandType.SHIP]
    assert went_live.order is not None and not went_live.order.shadow
    assert not any(e.shadow for e in went_live.events)

    # a live order is routed at once
    direct = transitions.apply_channel_update(None, live, (), NOW, routing)
    assert [c.type for c in direct.commands] == [CommandType.SHIP]


# ---------------------------------------------------------------- orderhub normalize / channels


def normalize(text: str, channel: str = "douyin") -> list[dict]:
    out = io.BytesIO()
    assert run_normalize(channel, "-", "shop-1", stdin=io.StringIO(text), stdout=out) == 0
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_normalize_one_pretty_object_or_json_lines() -> None:
    pretty = (FIXTURES / "douyin" / "shipped.json").read_text(encoding="utf-8")
    (one,) = normalize(pretty)
    assert one["status"] == "SHIPPED" and one["shop_id"] == "shop-1"
    lines = "\n".join(json.dumps(fixture("douyin", n)) for n in ("unpaid", "shipped", "completed")) + "\n\n"
    assert [o["status"] for o in normalize(lines)] == ["PENDING_PAYMENT", "SHIPPED", "COMPLETED"]


@pytest.mark.parametrize(("text", "message"), [
    ('{"order_id": "1"}\n', "line 1: douyin: shop_order.order_status: missing"),
    (json.dumps(fixture("douyin", "unpaid")) + "\n" + json.dumps(fixture("douyin", "unknown_status")) + "\n",
     "line 2: douyin: shop_order.order_status: unknown status code '99'"),
    (json.dumps(fixture("douyin", "unpaid")) + "\n{oops\n", "line 2: not JSON"),
    ("[1, 2]\n", "line 1: expected a JSON object, got list"),
    ('{\n "a": \n}\n', "not JSON (unexpected character"),
    ("   \n", "no input"),
])
def test_normalize_bad_input_names_the_line(text: str, message: str) -> None:
    with pytest.raises(NormalizeError) as caught:
        normalize(text)
    assert message in str(caught.value)


def test_normalize_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "orders.jsonl"
    good.write_text(json.dumps(fixture("kuaishou", "paid")) + "\n", encoding="utf-8")
    assert main(["normalize", "--channel", "kuaishou", "--shop-id", "k1", str(good)]) == 0
    assert main(["normalize", "--channel", "nope", str(good)]) == 2
    assert main(["normalize", "--channel", "kuaishou", str(tmp_path / "missing.json")]) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"data": {"orderList": []}}\n', encoding="utf-8")
    assert main(["normalize", "--channel", "kuaishou", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("orderhub normalize: ") for line in err)
    assert "unknown channel 'nope'" in err[0] and "cannot read" in err[1]
    assert "line 1: kuaishou: data.orderList: expected exactly one order object, got a list of 0" in err[2]


def test_channels_command_lists_mode_and_source(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERHUB_CHANNEL_MODES", "douyin=shadow")
    assert main(["channels"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.strip().splitlines()]
    assert rows[0] == ["channel", "mode", "source"]
    table = {r[0]: (r[1], r[2]) for r in rows[1:]}
    assert table["douyin"] == ("shadow", "built-in") and table["taobao"] == ("live", "built-in")
    assert {"douyin", "kuaishou", "taobao", "tmall", "wechat"} <= set(table)


# ---------------------------------------------------------------- the docs' worked example


def test_the_worked_example_in_the_docs_is_a_working_channel(tmp_path: Path) -> None:
    """The YAML blocks of the WeChat section of docs/channels.md, put together, map every
    WeChat fixture like the built-in file does: the docs show a complete channel."""
    docs = (ROOT / "docs" / "channels.md").read_text(encoding="utf-8")
    start = docs.index("## WeChat 微信小店 (worked example)")
    section = docs[start:docs.index("\n## ", start)]  # up to the next section
    blocks = [b.split("```", 1)[0] for b in section.split("```yaml\n")[1:]]
    assert len(blocks) >= 4
    (tmp_path / "wechat.yaml").write_text("\n".join(blocks), encoding="utf-8")
    from_docs = load_channels(settings(channels_dir=str(tmp_path))).registry.get("wechat")
    built_in = builtin_registry().get("wechat")
    checked = 0
    for path in sorted((FIXTURES / "wechat").glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        payload = json.loads(path.read_text(encoding="utf-8"))
        try:
            expected = built_in.adapt(payload, shop_id="s")
        except Exception as exc:  # noqa: BLE001 — then the docs' file must fail the same way
            with pytest.raises(type(exc)):
                from_docs.adapt(payload, shop_id="s")
            continue
        assert from_docs.adapt(payload, shop_id="s") == expected, path.name
        checked += 1
    assert checked >= 10
