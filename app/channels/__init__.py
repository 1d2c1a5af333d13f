"""Pure: channel adapters turn a platform's order JSON into the standard order model.

An adapter is stateless: ``adapt(payload, shop_id=...)`` maps one platform order (as
decoded JSON) to an `Order` with ``version=0`` (the domain assigns versions), or raises
`AdapterError` (bad shape/value, naming the field) / `UnknownStatusError` (a status code
its table does not know). Adapters never read the clock, log or do I/O.
Most channels are mapping files (app/channels/mapping.py, docs/channels.md "Mapping file
format"); the built-in ones ship in app/channels/mappings/. `builtin_registry()` returns a
fresh registry holding every built-in channel; `default_registry()` only the TOP ones.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from app.channels.builtin import builtin_adapters
from app.channels.engine import MappingAdapter
from app.channels.errors import MappingError
from app.channels.mapping import parse_mapping
from app.channels.taobao import TaobaoAdapter
from app.domain.errors import UnknownChannelError
from app.domain.model import Order

__all__ = [
    "Adapter",
    "AdapterRegistry",
    "MappingAdapter",
    "MappingError",
    "TaobaoAdapter",
    "builtin_registry",
    "default_registry",
    "parse_mapping",
]


@runtime_checkable
class Adapter(Protocol):
    """Maps one channel's order payload to the standard order model."""

    channel: str

    def adapt(self, payload: dict[str, Any], *, shop_id: str) -> Order: ...


class AdapterRegistry:
    """Channel name → adapter."""

    def __init__(self, adapters: tuple[Adapter, ...] | list[Adapter] = ()) -> None:
        self._adapters: dict[str, Adapter] = {}
        for adapter in adapters:
            self.register(adapter)

    def register(self, adapter: Adapter, *, replace: bool = False) -> None:
        """Add ``adapter`` under ``adapter.channel``; a second one for a channel is refused
        unless ``replace=True``."""
        channel = adapter.channel
        if not isinstance(channel, str) or not channel:
            raise ValueError(f"adapter {adapter!r} has no channel name")
        if channel in self._adapters and not replace:
            raise ValueError(f"an adapter for channel {channel!r} is already registered")
        self._adapters[channel] = adapter

    def get(self, channel: str) -> Adapter:
        try:
            return self._adapters[channel]
        except KeyError:
            known = ", ".join(self.channels()) or "none"
            raise UnknownChannelError(
                f"no adapter for channel {channel!r} (known: {known})") from None

    def channels(self) -> tuple[str, ...]:
        """The registered channel names, sorted."""
        return tuple(sorted(self._adapters))

    def __contains__(self, channel: object) -> bool:
        return channel in self._adapters


def default_registry() -> AdapterRegistry:
    """A new registry with the TOP adapters only: ``taobao`` and ``tmall`` (same TOP format).

    The registry the first release shipped; the workers and the CLI use `builtin_registry`."""
    return AdapterRegistry((TaobaoAdapter("taobao"), TaobaoAdapter("tmall")))


def builtin_registry() -> AdapterRegistry:
    """A new registry with every built-in channel (the mapping files in app/channels/mappings/)."""
    return AdapterRegistry(builtin_adapters())
