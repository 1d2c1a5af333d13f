"""Integration, real broker: `orderhub bench` runs end to end on a small workload."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]  # broker-independent: runs once, on the embedded broker

KEYS = {"throughput_eps", "baseline_eps", "ratio", "latency_ms", "rss_mb", "mode", "broker", "events"}


def test_bench_prints_a_table_and_a_json_line_with_the_figures(broker) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "--broker", broker.bootstrap, "--events", "1000",
         "--runs", "1", "--rate", "100", "--latency-seconds", "2", "--skip-scaling", "--skip-exactly-once"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert any("pipeline at_least_once" in line for line in lines)  # the table
    result = orjson.loads(lines[-1])
    assert KEYS <= result.keys()
    assert set(result["latency_ms"]) == {"p50", "p95", "p99"}
    assert result["throughput_eps"] > 0 and result["baseline_eps"] > 0 and result["ratio"] > 0
    assert result["events"] >= 1000 and result["rss_mb"] > 0
    assert result["commands_ok"] is True  # one SHIP command per paid order


def test_bench_rejects_bad_flags_with_one_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "app.cli", "bench", "--events", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "orderhub bench: --events must be at least 1"
