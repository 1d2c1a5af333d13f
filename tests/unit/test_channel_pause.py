"""Unit: pausing a channel — control commands by channel, the paused state, the parking topic names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.cli import main
from app.operations.control import ControlCommand, PauseState, known_channel
from app.operations.errors import OperationsError
from app.topic_names import TopicNames

NOW = datetime(2026, 11, 11, tzinfo=UTC)
NAMES = TopicNames("orderhub")


def test_channel_commands_round_trip_and_fold_apart_from_topics() -> None:
    pause = ControlCommand("pause", "douyin", NOW, "adapter fix", "channel")
    assert pause.key == "channel:douyin"
    assert ControlCommand.from_dict(pause.as_dict()) == pause
    state = PauseState()
    state.apply(pause)
    state.apply(ControlCommand("pause", "orderhub.payments", NOW))
    state.apply(ControlCommand("pause", "kuaishou", NOW, "", "channel"))
    assert state.channels == {"douyin", "kuaishou"} and state.topics == {"orderhub.payments"}
    state.apply(ControlCommand("resume", "douyin", NOW, "", "channel"))
    assert state.channels == {"kuaishou"} and state.topics == {"orderhub.payments"}
    assert state.describe() == ["channel:kuaishou", "topic:orderhub.payments"]
    # a topic and a channel with the same name are different targets
    state.apply(ControlCommand("resume", "kuaishou", NOW))
    assert state.channels == {"kuaishou"}


def test_unknown_target_types_and_channels_are_refused() -> None:
    with pytest.raises(OperationsError, match="not a control command"):
        ControlCommand.from_dict({"action": "pause", "target_type": "shop", "target": "x", "at": NOW.isoformat()})
    assert known_channel(" douyin ", ("taobao", "douyin")) == "douyin"
    with pytest.raises(OperationsError, match=r"--channel 'tiktok' is not a known channel \(known: douyin, taobao\)"):
        known_channel("tiktok", ("taobao", "douyin"))


def test_parking_topic_names_map_back_to_their_channel() -> None:
    topic = NAMES.parked("douyin")
    assert topic == "orderhub.channel-orders.parked.douyin"
    assert NAMES.channel_of_parked(topic) == "douyin"
    assert NAMES.channel_of_parked(NAMES.channel_orders) is None
    assert NAMES.channel_of_parked("other.channel-orders.parked.douyin") is None


@pytest.mark.parametrize("argv, message", [
    (["pause", "--channel", "tiktok"], "is not a known channel"),
    (["pause", "--channel", "douyin", "--topic", "payments"], "not allowed with argument"),
    (["resume"], "one of the arguments --topic --channel is required"),
])
def test_cli_bad_channel_input_exits_2_with_one_line(argv: list[str], message: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith(f"orderhub {argv[0]}") and "\n" not in err


async def test_a_control_topic_that_cannot_be_read_delays_ingestion_but_does_not_stop_it() -> None:
    from app.pause_control import PauseController
    from app.settings import Settings

    controller = PauseController(Settings.from_env())
    assert not controller.caught_up.is_set() and controller.paused_channels == frozenset()
    await controller.wait_caught_up(timeout_s=0.01)
    assert controller.caught_up.is_set()


async def test_the_releaser_opens_no_consumer_before_the_paused_channels_are_known() -> None:
    """A worker started while a channel is paused must not release that channel's parked
    envelopes before it has read the control topic (they were parked a second time)."""
    import asyncio

    from app.parking import ParkedReleaser
    from app.settings import Settings

    known = asyncio.Event()
    releaser = ParkedReleaser(Settings.from_env(env={}, broker="127.0.0.1:1"), paused_channels=frozenset,
                              ready=known.wait)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(releaser.run(), 0.3)
    assert releaser.consumer is None and releaser.released == 0
