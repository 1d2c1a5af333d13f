"""Pure: alert webhook messages. Generic JSON, and the DingTalk / WeCom group-robot formats.

DingTalk: ``{"msgtype": "markdown", "markdown": {"title", "text"}}``; a robot with signing
needs ``&timestamp=<ms>&sign=<base64 HMAC-SHA256 of "<ms>\\n<secret>">`` on the URL.
WeCom: ``{"msgtype": "markdown", "markdown": {"content"}}``. Both answer ``{"errcode": 0}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus

FORMATS = ("generic", "dingtalk", "wecom")
_MAX_TEXT = 3500  # both robots cap a message at about 4,096 bytes


def subject(alert: Mapping[str, Any]) -> str:
    """What an alert is about, for de-duplication: the order, else the group and topic, else its detail."""
    kind = str(alert.get("kind", "alert"))
    if alert.get("oli"):
        return f"{kind}|{alert['oli']}"
    if alert.get("group") or alert.get("topic"):
        return f"{kind}|{alert.get('group', '')}|{alert.get('topic', '')}"
    return f"{kind}|{alert.get('detail', '')}"


def _lines(alert: Mapping[str, Any]) -> list[str]:
    lines = [f"**orderhub alert: {alert.get('kind', 'alert')}**", "", str(alert.get("detail", ""))]
    for field in ("oli", "group", "topic", "lag", "at"):
        if alert.get(field) not in (None, ""):
            lines.append(f"- {field}: {alert[field]}")
    return lines


def render(alert: Mapping[str, Any], fmt: str) -> dict[str, Any]:
    """The webhook body for one alert."""
    if fmt == "generic":
        return {"source": "orderhub", **alert}
    text = "\n".join(_lines(alert))[:_MAX_TEXT]
    if fmt == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": f"orderhub {alert.get('kind', 'alert')}", "text": text}}
    if fmt == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": text}}
    raise ValueError(f"unknown webhook format {fmt!r} (known: {', '.join(FORMATS)})")


def suppressed_summary(counts: Mapping[str, int]) -> dict[str, Any]:
    """An alert-shaped message that says how many alerts were held back by the rate limit."""
    total = sum(counts.values())
    detail = f"{total} more alerts were not forwarded (rate limit): " + ", ".join(
        f"{kind} × {n}" for kind, n in sorted(counts.items()))
    return {"kind": "alerts_suppressed", "oli": "", "detail": detail, "suppressed": dict(counts)}


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"
