"""Pure: channel modes — per channel `off`, `shadow` or `live` (the default).

- ``live``: orders are processed and ship.
- ``shadow``: orders are processed and their events published, marked ``shadow: true``,
  but no fulfillment command is sent: a safe way to pilot a channel next to the system
  it replaces.
- ``off``: envelopes of the channel are skipped (counted and logged, not dead-lettered).

Set with ``ORDERHUB_CHANNEL_MODES="douyin=shadow,jd=off"``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import replace

from app.domain.model import Order

__all__ = ["ChannelMode", "apply_mode", "mode_of", "parse_channel_modes"]


class ChannelMode(enum.StrEnum):
    OFF = "off"
    SHADOW = "shadow"
    LIVE = "live"


_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def parse_channel_modes(text: str) -> dict[str, ChannelMode]:
    """``"douyin=shadow, jd=off"`` → ``{"douyin": SHADOW, "jd": OFF}``. ValueError names the bad item."""
    modes: dict[str, ChannelMode] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, mode = (part.strip() for part in item.partition("="))
        if not sep or not _NAME.fullmatch(name):
            raise ValueError(f"{item!r} is not `channel=mode`")
        if mode not in ChannelMode.__members__.values():
            raise ValueError(f"{item!r}: mode must be one of {', '.join(ChannelMode)}")
        if name in modes:
            raise ValueError(f"channel {name!r} is given twice")
        modes[name] = ChannelMode(mode)
    return modes


def mode_of(modes: Mapping[str, ChannelMode], channel: str) -> ChannelMode:
    return modes.get(channel, ChannelMode.LIVE)


def apply_mode(order: Order, mode: ChannelMode) -> Order | None:
    """The order to process under ``mode``: None when the channel is off, flagged when shadow."""
    if mode is ChannelMode.OFF:
        return None
    if mode is ChannelMode.SHADOW:
        return replace(order, shadow=True)
    return order
