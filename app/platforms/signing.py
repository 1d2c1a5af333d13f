"""Pure: the signature schemes of the platforms' push messages, and orderhub's own HMAC.

Each function returns the signature text the sender puts on the message; receivers
compare with `hmac.compare_digest`. Where the reference notes do not give a platform's
HTTP push signature (Kuaishou, JD, Pinduoduo), pushes carry orderhub's documented
scheme: ``X-Orderhub-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``
with ``X-Orderhub-Timestamp: <unix seconds>`` (the timestamp is signed, so a replay
outside the allowed age is refused).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

__all__ = ["douyin_event_sign", "orderhub_hmac", "same", "shopify_hmac", "top_md5_sign", "wechat_msg_signature"]


def same(expected: str, given: str | None) -> bool:
    """Constant-time comparison; a missing signature never matches."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def top_md5_sign(params: Mapping[str, str], body: bytes, secret: str) -> str:
    """TOP / 奇门 style: ``MD5(secret + k1v1k2v2… (sorted, without sign) + body + secret)``, upper hex."""
    text = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign")
    digest = hashlib.md5(secret.encode() + text.encode() + body + secret.encode(), usedforsecurity=False)
    return digest.hexdigest().upper()


def douyin_event_sign(app_key: str, body: bytes, secret: str) -> str:
    """抖店 message push: ``event-sign = MD5(app_key + body + app_secret)``, lower hex."""
    return hashlib.md5(app_key.encode() + body + secret.encode(), usedforsecurity=False).hexdigest()


def wechat_msg_signature(token: str, timestamp: str, nonce: str, body: bytes) -> str:
    """WeChat style: ``SHA1`` of the sorted concatenation of token, timestamp, nonce and the message."""
    parts = sorted([token, timestamp, nonce, body.decode()])
    return hashlib.sha1("".join(parts).encode(), usedforsecurity=False).hexdigest()


def shopify_hmac(secret: str, body: bytes) -> str:
    """Shopify: ``X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(secret, body))``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def orderhub_hmac(secret: str, timestamp: str, body: bytes) -> str:
    """orderhub's scheme: ``v1=`` + hex ``HMAC-SHA256(secret, timestamp + "." + body)``."""
    return "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
