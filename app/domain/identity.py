"""Pure: the order lifecycle ID (OLI) and versioned IDs.

Rule: ``oli = "<code>-<shop_id>-<external_id>"`` where ``code`` is the channel's short
code (taobao → ``tb``, douyin → ``dy``; an unlisted channel uses its own name) and
``shop_id`` / ``external_id`` are escaped so the three parts can always be told apart:
every character outside ``[A-Za-z0-9_.~]`` becomes ``%XX`` of its UTF-8 bytes (so ``-``
in a Pinduoduo ``order_sn`` is ``%2D``). The same platform order always maps to the same
OLI, in every subsystem, which is what makes deduplication fall out of the key.
The versioned ID of one state of an order is ``"<oli>@<version>"``.
"""

from __future__ import annotations

import re

CHANNEL_CODES: dict[str, str] = {
    "taobao": "tb",
    "tmall": "tm",
    "douyin": "dy",
    "kuaishou": "ks",
    "jd": "jd",
    "pdd": "pdd",
    "wechat": "wx",
    "shopify": "sp",
}

_UNSAFE = re.compile(r"[^A-Za-z0-9_.~]")


def _escape(part: str) -> str:
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), part)


def make_oli(channel: str, shop_id: str, external_id: str) -> str:
    if not channel or not shop_id or not external_id:
        raise ValueError("channel, shop_id and external_id must all be non-empty")
    return f"{CHANNEL_CODES.get(channel, _escape(channel))}-{_escape(shop_id)}-{_escape(external_id)}"


def versioned_id(oli: str, version: int) -> str:
    return f"{oli}@{version}"


def split_versioned_id(vid: str) -> tuple[str, int]:
    oli, sep, version = vid.rpartition("@")
    if not sep or not version.isdigit():
        raise ValueError(f"not a versioned id: {vid!r}")
    return oli, int(version)


def source_key(channel: str, shop_id: str, external_id: str) -> str:
    """The key of `channel-orders` messages: ``channel:shop_id:external_id``."""
    return f"{channel}:{shop_id}:{external_id}"
