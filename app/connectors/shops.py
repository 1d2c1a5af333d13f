"""Pure: the shops file (YAML or TOML) → one `ShopConfig` per shop to pull and to hear from.

```yaml
shops:
  - channel: taobao            # a channel the platforms know (orderhub simulate lists them)
    shop_id: tb-shop-1
    base_url: https://gw.api.taobao.com   # the platform's API root (the simulator: http://127.0.0.1:PORT/taobao)
    app_key: 12345678
    app_secret_env: TB_APP_SECRET         # or app_secret: "..." (the env form keeps secrets out of files)
    token: 6100a2...                      # the shop's session / access token (default: shop_id)
    rps: 5            # optional: this shop's request limit (default: ORDERHUB_CONNECTOR_SHOP_RPS)
    app_rps: 10       # optional: the app's limit over all its shops (default: ORDERHUB_CONNECTOR_APP_RPS)
    overlap_s: 60     # optional (default: ORDERHUB_CONNECTOR_OVERLAP_S)
    pull: true        # false: webhooks only
```
TOML: the same keys under ``[[shops]]``. Every error names the shop and the field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from app.connectors.errors import ShopsFileError
from app.platforms import CHANNELS

__all__ = ["ShopConfig", "parse_shops"]

_KNOWN = {"channel", "shop_id", "base_url", "app_key", "app_secret", "app_secret_env", "token", "rps", "app_rps",
          "overlap_s", "page_size", "pull"}


@dataclass(frozen=True)
class ShopConfig:
    channel: str
    shop_id: str
    base_url: str
    app_key: str
    app_secret: str
    token: str
    rps: float
    app_rps: float
    overlap_s: float
    page_size: int = 100
    pull: bool = True

    @property
    def app(self) -> tuple[str, str]:
        """The app whose limit this shop shares with the app's other shops."""
        return (self.channel, self.app_key)

    def __repr__(self) -> str:  # never print the secret
        return f"ShopConfig({self.channel}/{self.shop_id} at {self.base_url})"


def _number(entry: Mapping[str, Any], name: str, where: str, default: float) -> float:
    value = entry.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ShopsFileError(f"{where}: {name} must be a positive number, not {value!r}")
    return float(value)


def parse_shops(text: str, *, fmt: str, shop_rps: Mapping[str, float], app_rps: Mapping[str, float],
                overlap_s: float, env: Mapping[str, str]) -> list[ShopConfig]:
    """Parse a shops file (`fmt` "yaml" or "toml"); defaults come from the settings."""
    try:
        data = tomllib.loads(text) if fmt == "toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ShopsFileError(f"not valid {fmt.upper()}: {first}") from None
    entries = data.get("shops") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ShopsFileError("expected a non-empty list under `shops`")
    shops: list[ShopConfig] = []
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(entries):
        where = f"shops[{i}]"
        if not isinstance(entry, dict):
            raise ShopsFileError(f"{where}: expected a mapping")
        for name in ("channel", "shop_id", "base_url", "app_key"):
            if not str(entry.get(name) or "").strip():
                raise ShopsFileError(f"{where}: {name} is missing")
        channel, shop_id = str(entry["channel"]), str(entry["shop_id"])
        where = f"shops[{i}] ({channel}/{shop_id})"
        unknown = sorted(set(entry) - _KNOWN)
        if unknown:
            raise ShopsFileError(f"{where}: unknown field {unknown[0]!r}")
        if channel not in CHANNELS:
            raise ShopsFileError(f"{where}: channel {channel!r} is not one of {', '.join(CHANNELS)}")
        if (channel, shop_id) in seen:
            raise ShopsFileError(f"{where}: listed twice")
        seen.add((channel, shop_id))
        base_url = str(entry["base_url"]).rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise ShopsFileError(f"{where}: base_url must start with http:// or https://")
        if "app_secret_env" in entry:
            secret = env.get(str(entry["app_secret_env"]), "")
            if not secret:
                raise ShopsFileError(f"{where}: app_secret_env names {entry['app_secret_env']!r}, which is not set")
        else:
            secret = str(entry.get("app_secret") or "")
            if not secret:
                raise ShopsFileError(f"{where}: app_secret (or app_secret_env) is missing")
        page_size = entry.get("page_size", 100)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 250:
            raise ShopsFileError(f"{where}: page_size must be an integer from 1 to 250")
        pull = entry.get("pull", True)
        if not isinstance(pull, bool):
            raise ShopsFileError(f"{where}: pull must be true or false")
        shops.append(ShopConfig(
            channel=channel, shop_id=shop_id, base_url=base_url, app_key=str(entry["app_key"]),
            app_secret=secret, token=str(entry.get("token") or shop_id),
            rps=_number(entry, "rps", where, shop_rps.get(channel, 10.0)),
            app_rps=_number(entry, "app_rps", where, app_rps.get(channel, 10.0)),
            overlap_s=_number(entry, "overlap_s", where, overlap_s), page_size=page_size, pull=pull))
    return shops
