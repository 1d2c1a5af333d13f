"""Unit: console rules that are not order state: tokens and roles, masking, files, search, stats, bulk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.console import bulk, stats
from app.console.queries import SearchFilter, append_history, stuck_reason
from app.console.roles import Permission, Role, TokenStore, hash_token, mask_receivers, new_token
from app.console_config import load_policy, load_tokens
from app.domain.errors import ValidationError
from app.settings import Settings, SettingsError
from tests.unit.test_operations import NOW, paid_order


def test_tokens_authenticate_by_hash_and_roles_grant_permissions() -> None:
    token = new_token()
    store = TokenStore.from_dict({"tokens": [{"name": "olga", "role": "operator", "sha256": hash_token(token)}]})
    olga = store.authenticate(f"Bearer {token}")
    assert olga is not None and olga.name == "olga" and olga.role is Role.OPERATOR
    assert olga.can(Permission.COMMAND) and not olga.can(Permission.APPROVE)
    assert store.authenticate(None) is None and store.authenticate("Bearer nope") is None
    assert store.authenticate(f"Basic {token}") is None
    assert not TokenStore({}).authenticate(f"Bearer {token}")
    for bad, field in [({"tokens": [{"name": "x", "role": "boss", "sha256": "0" * 64}]}, "role"),
                       ({"tokens": [{"name": "x", "role": "viewer", "sha256": token}]}, "sha256"),
                       ({"users": []}, "tokens")]:
        with pytest.raises(ValidationError, match=field):
            TokenStore.from_dict(bad)


def test_masking_reaches_every_receiver() -> None:
    data = {"order": {"receiver": {"name": "张三丰", "phone": "13812345678", "address": {"detail": "文三路1号"}}},
            "entries": [{"before": {"receiver": {"name": "李四", "phone": "1", "address": {"city": "杭州"}}}}]}
    masked = mask_receivers(data)
    assert masked["order"]["receiver"] == {"name": "张**", "phone": "138****5678", "address": {"detail": "***"}}
    assert masked["entries"][0]["before"]["receiver"]["name"] == "李*"
    assert data["order"]["receiver"]["name"] == "张三丰"  # a copy


def test_console_files_fail_with_the_variable_name(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("rules: [{actions: [teleport]}]\n")
    with pytest.raises(SettingsError, match="ORDERHUB_APPROVAL_POLICY_FILE.*teleport"):
        load_policy(Settings(approval_policy_file=str(bad)))
    with pytest.raises(SettingsError, match="ORDERHUB_TOKENS_FILE: cannot read"):
        load_tokens(Settings(tokens_file=str(tmp_path / "missing.yaml")))
    assert load_policy(Settings()).second_level_above == 100_000
    assert load_tokens(Settings()).by_hash == {}


def test_search_filter_and_stuck_reason() -> None:
    order = paid_order()
    assert SearchFilter(status="PAID").matches(order) and not SearchFilter(status="SHIPPED").matches(order)
    assert SearchFilter(q="文三路").matches(order) and not SearchFilter(hold="any").matches(order)
    with pytest.raises(ValidationError, match="limit"):
        SearchFilter.from_query({"limit": "0"})
    with pytest.raises(ValidationError, match="colour"):
        SearchFilter.from_query({"colour": "red"})
    assert stuck_reason(order, NOW, timedelta(minutes=5)) == "not acknowledged by the warehouse"
    assert stuck_reason(order, NOW, timedelta(days=5)) == ""
    history: list[dict] = []
    for i in range(250):
        history = append_history(history, {"v": i})
    assert len(history) == 200 and history[-1] == {"v": 249} and append_history(history, {"v": 249}) == history


def test_stats_merge_across_workers() -> None:
    now = datetime(2026, 11, 11, 3, 0, tzinfo=UTC)
    a, b = stats.LiveStats(), stats.LiveStats()
    event = {"type": "FulfillmentRequested", "oli": "o1", "at": "2026-11-11T03:00:02+00:00",
             "order": {"channel": "taobao", "paid_at": "2026-11-11T03:00:00+00:00"}}
    a.on_event(event, now)
    b.on_event(event | {"oli": "o2", "order": {"channel": "tmall", "paid_at": "2026-11-11T02:59:59+00:00"}}, now)
    a.on_audit({"role": "operator", "at": "2026-11-11T02:30:00+00:00", "command": "hold", "oli": "o1"})
    a.on_audit({"role": "system", "at": "2026-11-11T02:30:00+00:00", "action": "automatic_hold", "oli": "o1"})
    merged = stats.merge([a.snapshot(), b.snapshot()], now)
    assert merged["orders_seen"] == 2 and merged["orders_touched"] == 1 and merged["intervention_rate"] == 0.5
    assert merged["latency_ms"]["p50"] == 2000 and merged["latency_ms"]["p99"] == 3000
    assert set(merged["throughput_per_s"]) == {"taobao", "tmall"}
    assert merged["interventions_per_hour"] == {"hold": [0] * 22 + [1, 0]}  # 02:30 is the previous hour


def test_bulk_targets_and_progress() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        bulk.targets({"olis": ["a"], "filter": {"q": "x"}})
    with pytest.raises(ValidationError, match="filter.city"):
        bulk.targets({"filter": {"city": "x"}})
    assert bulk.targets({"olis": ["a", "b", "a"]}) == (["a", "b"], None)
    p1 = bulk.count(None, job_size=3, command="hold", actor="olga", outcome="applied")
    p2 = bulk.count(bulk.count(None, job_size=3, command="hold", actor="olga", outcome="stale_version"),
                    job_size=3, command="hold", actor="olga", outcome="approval_pending")
    job = bulk.merge("job-1", [p1, p2])
    assert job is not None and job["state"] == "done" and (job["applied"], job["refused"]) == (1, 1)
    assert bulk.merge("job-1", []) is None
