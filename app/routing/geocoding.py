"""Pure: a geocoder that trusts the platform's split fields (benchmarks and tests use it).

The worker and the CLI use `app.geocoders.make_geocoder` (the offline normaliser by
default). This one trusts the platform's split fields as they are: resolved when province and city (or
district) are present, with the adcode the platform gave, if any. It never guesses.
"""

from __future__ import annotations

from app.address.model import Geocoder, NormalizedAddress
from app.domain.model import Address

__all__ = ["DomesticGeocoder", "SplitFieldsGeocoder"]


class SplitFieldsGeocoder:
    def normalize(self, address: Address) -> NormalizedAddress:
        resolved = bool(address.province and (address.city or address.district))
        return NormalizedAddress(
            province=address.province, city=address.city, district=address.district,
            adcode=address.adcode, detail=address.detail, confidence=1.0 if resolved else 0.0,
            resolved=resolved)



class DomesticGeocoder:
    """China's addresses go to `china` (the division normaliser); an address in another
    country (Shopify ships abroad) is taken as the platform split it, since the division
    table knows only China and would hold every foreign order as unresolved."""

    def __init__(self, china: Geocoder, abroad: Geocoder | None = None) -> None:
        self.china = china
        self.abroad = abroad or SplitFieldsGeocoder()

    def normalize(self, address: Address) -> NormalizedAddress:
        if address.country in ("", "CN"):
            return self.china.normalize(address)
        return self.abroad.normalize(address)
