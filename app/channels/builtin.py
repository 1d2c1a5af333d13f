"""Pure: the built-in channels — mapping files shipped inside the package (app/channels/mappings/).

They are package data, read like the package's own code with `importlib.resources` and
compiled once per process (cached); nothing else is read. A built-in file that does not
compile is a bug in orderhub, reported as the `MappingError` naming it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from app.channels.engine import MappingAdapter
from app.channels.mapping import parse_mapping

__all__ = ["BUILTIN_SOURCE", "builtin_adapter", "builtin_adapters", "builtin_names"]

BUILTIN_SOURCE = "built-in"
#: channel name → (mapping file, the channel name inside that file). Tmall is Taobao's TOP format.
_ALIASES = {"tmall": "taobao"}


def _files() -> dict[str, str]:
    folder = resources.files("app.channels") / "mappings"
    return {entry.name.removesuffix(".yaml"): entry.name
            for entry in folder.iterdir() if entry.name.endswith(".yaml")}


@cache
def builtin_names() -> tuple[str, ...]:
    """Every built-in channel name, sorted."""
    return tuple(sorted(set(_files()) | set(_ALIASES)))


@cache
def _compiled(file_stem: str) -> MappingAdapter:
    entry = resources.files("app.channels") / "mappings" / f"{file_stem}.yaml"
    adapter = parse_mapping(entry.read_text(encoding="utf-8"), f"{BUILTIN_SOURCE}:mappings/{file_stem}.yaml")
    adapter.source = BUILTIN_SOURCE
    return adapter


def builtin_adapter(channel: str) -> MappingAdapter:
    """The compiled built-in adapter for ``channel`` (KeyError if there is none)."""
    if channel not in builtin_names():
        raise KeyError(channel)
    adapter = _compiled(_ALIASES.get(channel, channel))
    return adapter if adapter.channel == channel else adapter.with_channel(channel)


def builtin_adapters() -> tuple[MappingAdapter, ...]:
    return tuple(builtin_adapter(name) for name in builtin_names())
