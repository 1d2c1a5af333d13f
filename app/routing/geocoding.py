"""Pure: a geocoder that trusts the platform's split fields (benchmarks and tests use it).

The worker and the CLI use `app.geocoders.make_geocoder` (the offline normaliser by
default). This one trusts the platform's split fields as they are: resolved when province and city (or
district) are present, with the adcode the platform gave, if any. It never guesses.
"""

from __future__ import annotations

from app.address.model import NormalizedAddress
from app.domain.model import Address

__all__ = ["SplitFieldsGeocoder"]


class SplitFieldsGeocoder:
    def normalize(self, address: Address) -> NormalizedAddress:
        resolved = bool(address.province and (address.city or address.district))
        return NormalizedAddress(
            province=address.province, city=address.city, district=address.district,
            adcode=address.adcode, detail=address.detail, confidence=1.0 if resolved else 0.0,
            resolved=resolved)

