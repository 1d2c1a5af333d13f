"""Pure: what address normalisation returns, and the geocoder interface routing depends on.

The offline normaliser (default) and any online geocoder a deployment adds implement
`Geocoder`. Routing reads a `NormalizedAddress`; it never guesses: an address that is not
`resolved` holds the order with reason ``address_unresolved`` and lists `candidates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from app.domain.model import Address

__all__ = ["Candidate", "Geocoder", "NormalizedAddress"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One administrative division an ambiguous address could mean."""

    province: str
    city: str
    district: str
    adcode: str


@dataclass(frozen=True, slots=True)
class NormalizedAddress:
    province: str = ""
    city: str = ""
    district: str = ""
    #: 6-digit adcode of the most specific level resolved ("" when unresolved)
    adcode: str = ""
    detail: str = ""
    #: 0.0 … 1.0; 1.0 when every level was given and agrees
    confidence: float = 0.0
    #: True when exactly one division matches; False means: hold, do not guess
    resolved: bool = False
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)


@runtime_checkable
class Geocoder(Protocol):
    """Turns a SOM receiver address (split fields and/or a free-text line) into a normalised one."""

    def normalize(self, address: Address) -> NormalizedAddress: ...
