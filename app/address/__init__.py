"""Pure: offline address normalisation to China's administrative divisions (adcodes)."""

from app.address.model import Candidate, Geocoder, NormalizedAddress

__all__ = ["Candidate", "Geocoder", "NormalizedAddress"]
