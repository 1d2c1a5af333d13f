"""Unit: DLQ ids, --since values, the headers a replay sends, and the CLI's bad-input exits."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from app.cli import main
from app.dlq import dlq_entry
from app.dlq_tool import DlqRecord, replay_headers
from app.domain.errors import DecodeError
from app.operations.dlq_ids import DlqId, dlq_topic_for
from app.operations.errors import OperationsError
from app.operations.since import parse_since
from app.topic_names import TopicNames

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
NAMES = TopicNames("orderhub")


def test_dlq_id_round_trip() -> None:
    dlq_id = DlqId.parse(" orderhub.payments.dlq:2:117 ")
    assert dlq_id == DlqId("orderhub.payments.dlq", 2, 117)
    assert DlqId.parse(str(dlq_id)) == dlq_id


@pytest.mark.parametrize("text", ["orderhub.payments:0:1", "orderhub.payments.dlq:0", ".dlq:0:1",
                                  "orderhub.payments.dlq:-1:3", "orderhub.payments.dlq:a:3", ""])
def test_bad_dlq_ids_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(OperationsError, match="DLQ id"):
        DlqId.parse(text)


@pytest.mark.parametrize("given", ["payments", "orderhub.payments", "orderhub.payments.dlq", "payments.dlq"])
def test_topic_names_resolve_to_the_dlq_topic(given: str) -> None:
    assert dlq_topic_for(given, "orderhub", NAMES.inputs) == "orderhub.payments.dlq"


def test_unknown_topic_names_the_known_ones() -> None:
    with pytest.raises(OperationsError, match="known: channel-orders, merge-candidates, ops-commands, order-inputs, order-inputs-paid, payments, wms-events"):
        dlq_topic_for("orders", "orderhub", NAMES.inputs)


@pytest.mark.parametrize(("text", "expected"), [
    ("90s", NOW - timedelta(seconds=90)), ("15m", NOW - timedelta(minutes=15)), ("2h", NOW - timedelta(hours=2)),
    ("7d", NOW - timedelta(days=7)), ("1.5h", NOW - timedelta(minutes=90)),
    ("2026-11-11T10:00:00+08:00", datetime(2026, 11, 11, 2, 0, tzinfo=UTC)),
    ("2026-11-11T02:00:00Z", datetime(2026, 11, 11, 2, 0, tzinfo=UTC)),
    ("2026-11-11T02:00:00", datetime(2026, 11, 11, 2, 0, tzinfo=UTC)),
])
def test_since_accepts_durations_and_iso_times(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "15", "-5m", "2h ago"])
def test_since_refuses_anything_else(text: str) -> None:
    with pytest.raises(OperationsError, match="--since"):
        parse_since(text, NOW)


def _record(headers: list[tuple[str, bytes]]) -> DlqRecord:
    entry = dlq_entry(topic="orderhub.payments", partition=1, offset=9, key=b"k", value=b"v",
                      headers=headers, exc=DecodeError("bad"), stage="payments", now=NOW)
    return DlqRecord(DlqId("orderhub.payments.dlq", 0, 5), b"k", entry)


def test_first_replay_counts_one_and_keeps_the_first_failure_time() -> None:
    headers = dict(replay_headers(_record([("trace", b"abc")])))
    assert headers == {"trace": b"abc", "orderhub-replays": b"1",
                       "orderhub-first-failed-at": NOW.isoformat().encode(),
                       "orderhub-replayed-from": b"orderhub.payments.dlq:0:5"}


def test_a_message_that_fails_again_counts_up_and_replays_do_not_pile_up_headers() -> None:
    first = _record([])
    replayed = replay_headers(first)
    later = NOW + timedelta(hours=1)
    entry = dlq_entry(topic="orderhub.payments", partition=1, offset=30, key=b"k", value=b"v",
                      headers=replayed, exc=DecodeError("bad"), stage="payments", now=later)
    assert entry["attempts"] == 2 and entry["first_failed_at"] == NOW.isoformat()
    again = replay_headers(DlqRecord(DlqId("orderhub.payments.dlq", 0, 6), b"k", entry))
    names = [n for n, _ in again]
    assert sorted(names) == sorted(set(names))
    assert dict(again)["orderhub-replays"] == b"2"
    assert base64.b64decode(entry["headers"]["orderhub-replays"]) == b"1"


@pytest.mark.parametrize("argv", [["dlq", "show", "nope"], ["dlq", "list", "--since", "soon"],
                                  ["dlq", "replay", "--topic", "orders"], ["dlq"]])
def test_cli_bad_input_exits_2_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("orderhub dlq") and "\n" not in err


def test_control_commands_round_trip_and_fold_into_the_paused_state() -> None:
    from app.operations.control import ControlCommand, PauseState, input_topic

    topic = input_topic("channel-orders", "orderhub", NAMES.inputs)
    assert topic == "orderhub.channel-orders" == input_topic("orderhub.channel-orders", "orderhub", NAMES.inputs)
    pause = ControlCommand("pause", topic, NOW, "WMS fix")
    assert ControlCommand.from_dict(pause.as_dict()) == pause and pause.key == "topic:orderhub.channel-orders"
    state = PauseState()
    state.apply(pause)
    state.apply(ControlCommand("pause", "orderhub.payments", NOW))
    state.apply(ControlCommand("resume", topic, NOW))
    assert state.topics == {"orderhub.payments"}
    with pytest.raises(OperationsError, match="not an orderhub input topic"):
        input_topic("alerts", "orderhub", NAMES.inputs)
    with pytest.raises(OperationsError, match="not a control command"):
        ControlCommand.from_dict({"action": "stop", "target_type": "topic", "target": topic})
