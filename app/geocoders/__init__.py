"""Geocoder selection: `make_geocoder(settings)` returns the `Geocoder` ORDERHUB_GEOCODER names.

`offline` (the default) is the pure normaliser over the shipped division table
(app/address). `amap` calls AMap's REST geocoding API (app/geocoders/amap.py); it is
for deployments that want it, and is never used by the tests.
"""

from __future__ import annotations

from app.address import Geocoder, OfflineGeocoder
from app.routing.geocoding import DomesticGeocoder
from app.settings import Settings

__all__ = ["make_geocoder"]


def make_geocoder(settings: Settings) -> Geocoder:
    """The geocoder for China's addresses; addresses abroad keep the platform's split fields."""
    if settings.geocoder == "amap":
        from app.geocoders.amap import AmapGeocoder

        return DomesticGeocoder(AmapGeocoder(key=settings.amap_key))
    return DomesticGeocoder(OfflineGeocoder())
