"""Unit: `orderhub rules check/route/explain/dry-run` on files (no broker): output and one-line errors."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]
RULES = str(ROOT / "examples/rules.yaml")
SKUS = str(ROOT / "examples/skus.csv")
ORDER = {
    "oli": "tb-shop1-1", "version": 3, "channel": "taobao", "shop_id": "shop1", "external_id": "1",
    "status": "PAID", "channel_status": "WAIT_SELLER_SEND_GOODS", "updated_at": "2026-11-11T02:00:00+00:00",
    "receiver": {"name": "张*", "phone": "138****5678", "address": {
        "province": "新疆维吾尔自治区", "city": "乌鲁木齐市", "district": "天山区", "detail": "解放北路1号"}},
    "lines": [{"line_id": "1", "sku": "5000004", "quantity": 1}], "amounts": {"total": 5900, "paid": 5900},
}


def _orders(tmp_path: Path, *orders: dict) -> str:
    path = tmp_path / "orders.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(o) for o in orders))
    return str(path)


def test_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", RULES]) == 0
    assert "12 rules OK (11 enabled)" in capsys.readouterr().out


def test_route_prints_one_json_line_per_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    light = ORDER | {"oli": "tb-shop1-2", "lines": [{"line_id": "1", "sku": "5000001", "quantity": 1}]}
    assert main(["rules", "route", "--rules", RULES, "--skus", SKUS, _orders(tmp_path, ORDER, light)]) == 0
    lines = [orjson.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["oli"], x["carrier"]) for x in lines] == [("tb-shop1-1", "EMS"), ("tb-shop1-2", "YTO")]
    assert lines[0]["rules_fired"][0] == {"id": "urumqi-heavy-ems", "version": 1}
    assert {"carrier", "warehouse", "holds", "tags", "rules_fired", "address"} <= set(lines[0])


def test_explain_says_where_the_carrier_came_from(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "explain", "--rules", RULES, "--skus", SKUS, _orders(tmp_path, ORDER)]) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert out["explain"]["carrier_from"] == "urumqi-heavy-ems"
    xinjiang = next(r for r in out["explain"]["rules"] if r["id"] == "xinjiang-carrier")
    assert "overridden by urumqi-heavy-ems" in xinjiang["detail"]


def test_dry_run_counts_changed_decisions_by_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "none.yaml"
    empty.write_text("")
    hangzhou = ORDER | {"oli": "tb-shop1-3", "receiver": {"name": "a", "phone": "1", "address": {
        "province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "x"}}}
    args = ["rules", "dry-run", RULES, "--orders", _orders(tmp_path, ORDER, hangzhou), "--baseline", str(empty),
            "--skus", SKUS]
    assert main(args) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert out == {"orders": 2, "changed": 1, "by_rule": {"urumqi-heavy-ems": 1, "xinjiang-carrier": 1}}


@pytest.mark.parametrize(("args", "message"), [
    (["rules", "check", "/nonexistent.yaml"], "no such file"),
    (["rules", "route", "--rules", RULES, "{orders}"], "orders.jsonl:2: not JSON"),
    (["rules", "route", "--rules", RULES, "{bad_order}"], "bad.jsonl:1: not a standard order: missing field"),
    (["rules", "route", "--rules", "{bad_rules}", "{orders}"], "rule x: when 1:1: unknown name 'wieght'"),
    (["rules", "dry-run", RULES, "--last", "0"], "--last must be at least 1"),
    (["rules"], "required"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                          message: str) -> None:
    (tmp_path / "orders.jsonl").write_text(orjson.dumps(ORDER).decode() + "\n{not json\n")
    (tmp_path / "bad.jsonl").write_text('{"oli": "x"}\n')
    (tmp_path / "rules.yaml").write_text("- {id: x, when: 'wieght > 1', then: [{hold: h}]}\n")
    paths = {"orders": tmp_path / "orders.jsonl", "bad_order": tmp_path / "bad.jsonl",
             "bad_rules": tmp_path / "rules.yaml"}
    argv = [a.format(**paths) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_rule_changes_become_audit_entries() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from app.rules import parse_rules
    from app.rules.audit import audit_key, rule_change_entry

    at = datetime(2026, 11, 11, tzinfo=UTC)
    (rule,) = parse_rules("- {id: glass, when: 'true', then: [{hold: fragile}]}\n")
    new = rule_change_entry(None, rule, actor="ada", command="rules apply", reason="", at=at)
    assert (new.action, new.rule_id, new.oli, audit_key(new)) == ("rule_published", "glass", "", "rule:glass")
    assert set(new.before.values()) == {None} and new.after["enabled"] is True
    off = replace(rule, enabled=False, version=2)
    disabled = rule_change_entry(rule, off, actor="ada", command="rules disable", reason="too many holds", at=at)
    assert disabled.action == "rule_disabled" and disabled.version == 2
    assert (disabled.before, disabled.after) == ({"enabled": True, "version": 1}, {"enabled": False, "version": 2})
    assert disabled.reason == "too many holds"
