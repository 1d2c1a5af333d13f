"""Unit: metric label derivation and the exposition of the registered metrics."""

from __future__ import annotations

import pytest

from app import metrics
from app.operations.lag import LagRow


@pytest.mark.parametrize(("key", "channel"), [
    (b"taobao:shop1:123", "taobao"), (b"tmall:s:1", "tmall"), (b"tb-shop1-123", "taobao"),
    (b"dy-s-1", "douyin"), (b"garbage", "other"), (b"myspace:s:1", "other"), (None, "other"), (b"", "other"),
])
def test_channel_label_comes_from_the_key_and_is_bounded(key: bytes | None, channel: str) -> None:
    assert metrics.channel_of_key(key) == channel


def test_every_documented_metric_is_exposed() -> None:
    text = metrics.render().decode()
    for name in ("orderhub_events_in_total", "orderhub_events_out_total", "orderhub_payment_to_command_seconds",
                 "orderhub_dlq_messages_total", "orderhub_holds_total", "orderhub_stuck_orders",
                 "orderhub_manual_commands_total", "orderhub_rule_hits_total", "orderhub_alerts_total",
                 "orderhub_alert_webhook_messages_total", "orderhub_consumer_lag", "orderhub_consumption_rate",
                 "orderhub_lag_samples_failed_total"):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert 'orderhub_manual_commands_total{type="change_address"} 0.0' in text


def test_lag_gauges_hold_the_latest_sample_only() -> None:
    metrics.set_lag([LagRow("g", "t", 0, 5, 9, 4, 1.5), LagRow("g", "t", 1, 3, 3, 0, None)])
    text = metrics.render().decode()
    assert 'orderhub_consumer_lag{group="g",partition="0",topic="t"} 4.0' in text
    assert 'orderhub_consumption_rate{group="g",partition="0",topic="t"} 1.5' in text
    assert 'orderhub_consumption_rate{group="g",partition="1"' not in text
    metrics.set_lag([LagRow("g", "t", 1, 3, 3, 0, 0.0)])
    assert 'orderhub_consumer_lag{group="g",partition="0"' not in metrics.render().decode()


def test_every_registered_metric_is_documented_in_operations_md() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    names = {m.name for m in metrics.REGISTRY.collect()}
    undocumented = sorted(n for n in names if f"`{n}" not in doc)
    assert not undocumented, f"metrics missing from docs/operations.md#metrics: {undocumented}"
