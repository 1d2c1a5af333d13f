"""Unit: wire format, identity, settings, DLQ entries and the CLI's error contract."""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import codec
from app.cli import main
from app.dlq import REPLAYS_HEADER, dlq_entry
from app.domain.errors import DecodeError, UnknownStatusError, ValidationError
from app.domain.identity import make_oli, split_versioned_id, versioned_id
from app.settings import Settings, SettingsError, settings_table

ROOT = Path(__file__).resolve().parents[2]


def test_oli_is_deterministic_and_readable() -> None:
    assert make_oli("taobao", "shop1", "3312456789") == "tb-shop1-3312456789"
    assert make_oli("pdd", "s", "240601-123") == "pdd-s-240601%2D123"
    assert make_oli("newmall", "s", "1") == "newmall-s-1"
    with pytest.raises(ValueError):
        make_oli("taobao", "", "1")


@given(st.text(min_size=1, max_size=12), st.text(min_size=1, max_size=12), st.text(min_size=1, max_size=12))
def test_oli_never_collides_across_parts(a: str, b: str, c: str) -> None:
    oli = make_oli("taobao", a, b + "-" + c)
    assert oli.count("-") == 2  # the separators are always the two we put there
    assert make_oli("taobao", a + "-" + b, c) != oli


def test_versioned_id_round_trip() -> None:
    assert split_versioned_id(versioned_id("tb-s-1", 7)) == ("tb-s-1", 7)
    with pytest.raises(ValueError):
        split_versioned_id("tb-s-1")


@pytest.mark.parametrize(("value", "error", "text"), [
    (b"\xff\xfe{}", DecodeError, "UTF-8"),
    (b"{not json", DecodeError, "not JSON"),
    (b"[1, 2]", ValidationError, "JSON object"),
    (b'{"channel": "taobao"}', ValidationError, "missing field 'shop_id'"),
    (b'{"channel": "taobao", "shop_id": "s", "received_at": "yesterday", "payload": {}}', ValidationError,
     "ISO-8601"),
    (b"x" * (codec.MAX_INPUT_BYTES + 1), DecodeError, "too large"),
    (None, DecodeError, "empty"),
])
def test_envelope_errors_are_distinct_and_readable(value: bytes | None, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        codec.decode_envelope(value)


def test_payment_and_wms_decoding() -> None:
    p = codec.decode_payment(orjson.dumps({"payment_id": "p", "channel": "taobao", "shop_id": 7,
                                           "external_id": 1, "amount": 100, "currency": "CNY",
                                           "paid_at": "2026-11-11T10:00:00+08:00"}))
    assert p.shop_id == "7" and p.paid_at == datetime(2026, 11, 11, 2, tzinfo=UTC)
    with pytest.raises(ValidationError, match="amount"):
        codec.decode_payment(orjson.dumps({"payment_id": "p", "channel": "t", "shop_id": "s",
                                           "external_id": "1", "amount": "100", "currency": "CNY",
                                           "paid_at": "2026-11-11T10:00:00+08:00"}))
    with pytest.raises(ValidationError, match="unknown event 'LOST'"):
        codec.decode_wms_event(orjson.dumps({"command_id": "c", "oli": "o", "event": "LOST",
                                             "at": "2026-11-11T10:00:00+08:00"}))


def test_dlq_entry_keeps_original_bytes_and_counts_replays() -> None:
    now = datetime(2026, 11, 11, tzinfo=UTC)
    entry = dlq_entry(topic="t", partition=1, offset=9, key=b"k", value=b"\x00\x01",
                      headers=[(REPLAYS_HEADER, b"2")], exc=UnknownStatusError("status 'X' unknown"),
                      stage="ingest", now=now)
    assert base64.b64decode(entry["value_b64"]) == b"\x00\x01"
    assert entry["error_type"] == "unknown_status" and entry["attempts"] == 3
    assert entry["first_failed_at"] == entry["last_failed_at"] == now.isoformat()
    assert dlq_entry(topic="t", partition=0, offset=0, key=None, value=None, headers=None,
                     exc=KeyError("x"), stage="s", now=now)["error_type"] == "unexpected:KeyError"


def test_settings_from_env_validate_and_redact() -> None:
    s = Settings.from_env({"ORDERHUB_PARTITIONS": "8", "ORDERHUB_SASL_MECHANISM": "PLAIN",
                           "ORDERHUB_SASL_PASSWORD": "hunter2", "ORDERHUB_BROKER": "kafka://a:1;b:2"})
    assert s.partitions == 8 and s.bootstrap_servers == "a:1,b:2" and s.broker_url == "kafka://a:1;b:2"
    assert "hunter2" not in repr(s) and s.redacted()["sasl_password"] == "***"
    for env, text in [({"ORDERHUB_PARTITIONS": "x"}, "ORDERHUB_PARTITIONS must be an integer"),
                      ({"ORDERHUB_PROCESSING_GUARANTEE": "maybe"}, "ORDERHUB_PROCESSING_GUARANTEE"),
                      ({"ORDERHUB_SESSION_TIMEOUT_S": "1"}, "ORDERHUB_SESSION_TIMEOUT_S")]:
        with pytest.raises(SettingsError, match=text):
            Settings.from_env(env)


def test_readme_settings_table_matches_the_code() -> None:
    assert settings_table() in (ROOT / "README.md").read_text()


def test_config_doc_settings_table_matches_the_code() -> None:
    assert settings_table() in (ROOT / "docs" / "config.md").read_text()


def test_cli_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--orders", "0"]) == 2
    assert main(["nosuchcommand"]) == 2
    assert main(["broker", "--kind", "redis"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("orderhub") for line in err)


def test_cli_settings_error_exits_2_without_traceback() -> None:
    result = subprocess.run([sys.executable, "-m", "app.cli", "worker"], capture_output=True, text=True,
                            env={"ORDERHUB_PARTITIONS": "zero", "PATH": "/usr/bin:/bin"}, cwd=ROOT,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "orderhub: ORDERHUB_PARTITIONS must be an integer, not 'zero'"


def test_every_subcommand_has_help() -> None:
    for command in ("worker", "broker", "demo", "channels"):
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
