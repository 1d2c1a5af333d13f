"""`orderhub address`: normalise addresses from the command line, one JSON object per input line."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import BinaryIO, TextIO

import orjson

from app.address import AddressError, Geocoder, NormalizedAddress
from app.domain.model import Address

__all__ = ["address_json", "run_address"]


class AddressInputError(ValueError):
    """Input the command cannot read; the message is one line."""


def address_json(result: NormalizedAddress) -> bytes:
    """The JSON line printed for one address (also what `orderhub rules route` embeds)."""
    return orjson.dumps({
        "province": result.province, "city": result.city, "district": result.district,
        "adcode": result.adcode, "detail": result.detail, "confidence": result.confidence,
        "resolved": result.resolved, "candidates": [asdict(c) for c in result.candidates],
    })


def _lines(stream: BinaryIO) -> Iterator[str]:
    for number, raw in enumerate(stream, start=1):
        try:
            yield raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise AddressInputError(f"line {number}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def run_address(geocoder: Geocoder, lines: Iterable[str], out: TextIO, *, province: str = "", city: str = "",
                district: str = "") -> int:
    """Each line is the detail (or the whole address); the split fields, if given, apply to every line."""
    for number, line in enumerate(lines, start=1):
        try:
            result = geocoder.normalize(Address(province=province, city=city, district=district, detail=line))
        except AddressError as exc:
            raise AddressInputError(f"line {number}: {exc}") from None
        out.write(address_json(result).decode() + "\n")
    return 0


def stdin_lines() -> Iterator[str]:
    return _lines(sys.stdin.buffer)
