"""Pure: errors of address normalisation."""

from __future__ import annotations

from app.domain.errors import ValidationError

__all__ = ["AddressError"]


class AddressError(ValidationError):
    """An address that cannot even be read (not text, far too long); the message names the field."""

    code = "invalid_address"
