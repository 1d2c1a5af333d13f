"""Pure: offline address normalisation to China's administrative divisions (adcodes).

`OfflineGeocoder().normalize(address)` reads a SOM receiver address (split fields and the
detail line); `normalize_text(line)` reads one free-text line. Both return a
`NormalizedAddress`; an ambiguous or unresolvable address comes back with
``resolved=False`` and its candidates, never guessed. docs/address.md has the policy.
"""

from app.address.errors import AddressError
from app.address.model import Candidate, Geocoder, NormalizedAddress
from app.address.normalizer import OfflineGeocoder, normalize_text

__all__ = ["AddressError", "Candidate", "Geocoder", "NormalizedAddress", "OfflineGeocoder", "normalize_text"]
