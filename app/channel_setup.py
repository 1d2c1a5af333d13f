"""The channels a process serves: built-in mapping files, files from ORDERHUB_CHANNELS_DIR, modes.

`load_channels(settings)` is called at start-up by the worker and the CLI. It reads every
``*.yaml`` / ``*.yml`` file of the folder, compiles it (`app.channels.parse_mapping`) and
registers it next to the built-in channels — a file named like a built-in channel
replaces it. Any problem is one `MappingError` naming the file, the field and the
problem, or a `SettingsError` for a mode given for a channel that is not loaded; the
process refuses to start rather than drop or guess orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.channels import AdapterRegistry, MappingError, builtin_registry, parse_mapping
from app.domain.channel_modes import ChannelMode, mode_of, parse_channel_modes
from app.settings import Settings, SettingsError

__all__ = ["ChannelSetup", "load_channels"]

MAPPING_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ChannelSetup:
    registry: AdapterRegistry
    modes: dict[str, ChannelMode] = field(default_factory=dict)

    def mode(self, channel: str) -> ChannelMode:
        return mode_of(self.modes, channel)

    def source(self, channel: str) -> str:
        """``built-in`` or the path of the mapping file the channel came from."""
        return str(getattr(self.registry.get(channel), "source", "built-in"))


def _read_folder(folder: Path, registry: AdapterRegistry) -> None:
    if not folder.is_dir():
        raise MappingError(str(folder), "", "ORDERHUB_CHANNELS_DIR is not a folder")
    seen: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix not in MAPPING_SUFFIXES or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(str(path), "", f"cannot read the file: {exc}") from None
        adapter = parse_mapping(text, str(path))
        if adapter.channel != path.stem:
            raise MappingError(str(path), "channel",
                               f"{adapter.channel!r} does not match the file name (expected {path.stem!r})")
        if adapter.channel in seen:
            raise MappingError(str(path), "channel", f"{adapter.channel!r} is also defined in {seen[adapter.channel]}")
        seen[adapter.channel] = path
        registry.register(adapter, replace=True)


def load_channels(settings: Settings) -> ChannelSetup:
    """The registry and modes for ``settings``. Raises `MappingError` / `SettingsError`."""
    registry = builtin_registry()
    if settings.channels_dir:
        _read_folder(Path(settings.channels_dir), registry)
    modes = parse_channel_modes(settings.channel_modes)
    unknown = sorted(set(modes) - set(registry.channels()))
    if unknown:
        raise SettingsError(f"ORDERHUB_CHANNEL_MODES names channels that are not loaded: {', '.join(unknown)} "
                            f"(loaded: {', '.join(registry.channels())})")
    return ChannelSetup(registry, modes)
