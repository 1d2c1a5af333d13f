"""Online geocoder: AMap's REST geocoding API (`/v3/geocode/geo`), behind ORDERHUB_GEOCODER=amap.

Small on purpose: one blocking HTTPS GET per address (call it from a thread, not the event
loop), the answer mapped to a `NormalizedAddress` by `parse_geocode` (pure, tested on
recorded answers). Several matches or a match coarser than a district are not guessed:
unresolved, with the matches as candidates. Network failures raise `TransientError`
(retriable); an answer with an error status raises `GeocoderError`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from app.address.model import Candidate, NormalizedAddress
from app.domain.errors import OrderhubError, TransientError
from app.domain.model import Address

__all__ = ["AmapGeocoder", "GeocoderError", "parse_geocode"]

URL = "https://restapi.amap.com/v3/geocode/geo"
#: AMap's match levels precise enough to name a district (县级 or finer)
DISTRICT_OR_FINER = frozenset({"区县", "开发区", "乡镇", "村庄", "热点商圈", "兴趣点", "门牌号", "单元号",
                               "道路", "道路交叉路口", "公交站台、地铁站"})


class GeocoderError(OrderhubError):
    """The geocoding service refused the request (bad key, quota); the message says why."""

    code = "geocoder_error"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""  # AMap sends [] for an empty field


def parse_geocode(payload: dict[str, Any], detail: str) -> NormalizedAddress:
    if payload.get("status") != "1":
        raise GeocoderError(f"amap: {payload.get('info', 'error')} ({payload.get('infocode', '?')})")
    matches = payload.get("geocodes") or []
    candidates = tuple(
        Candidate(province=_text(m.get("province")), city=_text(m.get("city")) or _text(m.get("province")),
                  district=_text(m.get("district")), adcode=_text(m.get("adcode")))
        for m in matches)
    if len(matches) != 1 or _text(matches[0].get("level")) not in DISTRICT_OR_FINER:
        return NormalizedAddress(detail=detail, candidates=candidates)
    c = candidates[0]
    return NormalizedAddress(province=c.province, city=c.city, district=c.district, adcode=c.adcode,
                             detail=detail, confidence=0.9, resolved=True)


def _http_get(url: str, timeout_s: float) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (fixed https URL)
            return json.loads(response.read())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise TransientError(f"amap: {exc}") from exc


class AmapGeocoder:
    def __init__(self, key: str, *, timeout_s: float = 3.0,
                 fetch: Callable[[str, float], dict[str, Any]] = _http_get) -> None:
        if not key:
            raise GeocoderError("amap: no key (ORDERHUB_AMAP_KEY)")
        self._key = key
        self._timeout_s = timeout_s
        self._fetch = fetch

    def normalize(self, address: Address) -> NormalizedAddress:
        text = "".join((address.province, address.city, address.district, address.town, address.detail))
        query = urllib.parse.urlencode({"address": text, "key": self._key, "output": "JSON"})
        return parse_geocode(self._fetch(f"{URL}?{query}", self._timeout_s), address.detail)
