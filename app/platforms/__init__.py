"""Pure: the platforms' order APIs, described once for the simulator and the connectors.

`api_for(channel)` returns the description of a channel's order API (`PlatformApi`):
request and page shapes, paging style, the platform's rate-limit error, its push
message and signature. Tmall speaks Taobao's TOP API.
"""

from __future__ import annotations

from app.domain.errors import UnknownChannelError
from app.platforms.base import PlatformApi
from app.platforms.douyin import DouyinApi
from app.platforms.jd import JdApi
from app.platforms.kuaishou import KuaishouApi
from app.platforms.pdd import PddApi
from app.platforms.shopify import ShopifyApi
from app.platforms.taobao import TopApi
from app.platforms.wechat import WechatApi

__all__ = ["CHANNELS", "PlatformApi", "api_for"]

_APIS: dict[str, PlatformApi] = {
    "taobao": TopApi("taobao"), "tmall": TopApi("tmall"), "douyin": DouyinApi(), "kuaishou": KuaishouApi(),
    "jd": JdApi(), "pdd": PddApi(), "wechat": WechatApi(), "shopify": ShopifyApi(),
}
#: every channel whose order API is described here (the simulator serves all of them)
CHANNELS: tuple[str, ...] = tuple(_APIS)


def api_for(channel: str) -> PlatformApi:
    try:
        return _APIS[channel]
    except KeyError:
        raise UnknownChannelError(f"no platform API for channel {channel!r} "
                                  f"(known: {', '.join(CHANNELS)})") from None
