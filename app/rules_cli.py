"""`orderhub rules …` and `orderhub skus import`: the logic behind the CLI subcommands.

`check`, `route`, `explain` and `dry-run --orders` work on files, without a broker.
`apply`, `list`, `disable`, `skus import` (and `dry-run` without `--baseline`) talk to the
broker named by ORDERHUB_BROKER / `--broker`; `apply` and `disable` put an audit entry per
changed rule on the audit topic. Every bad input raises `UsageError`
(one line, exit code 2).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from app import codec
from app.catalog import Catalog, parse_skus_csv
from app.cli import UsageError
from app.domain.audit import AuditEntry
from app.domain.errors import OrderhubError
from app.domain.model import Order
from app.domain.transitions import RoutingDefaults
from app.geocoders import make_geocoder
from app.routing import RoutingDecision, decide
from app.rules import Rule, RuleSet, parse_rules
from app.rules.audit import audit_key, rule_change_entry
from app.settings import Settings
from app.topic_names import TopicNames


def _read_text(path: str, what: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{what} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} {path}: cannot read ({exc.__class__.__name__}: {exc})") from None


def load_rules(path: str) -> list[Rule]:
    try:
        return parse_rules(_read_text(path, "rules file"), source=path)
    except OrderhubError as exc:
        raise UsageError(f"{path}: {exc}" if not str(exc).startswith(path) else str(exc)) from None


def load_catalog(path: str | None) -> Catalog:
    if path is None:
        return Catalog()
    try:
        return Catalog(parse_skus_csv(_read_text(path, "SKU file"), source=path))
    except OrderhubError as exc:
        raise UsageError(str(exc)) from None


def read_orders(path: str) -> Iterator[Order]:
    """SOM orders from a file: one JSON object, a JSON array, or JSON lines."""
    text = _read_text(path, "orders file")
    name = "stdin" if path == "-" else path
    try:
        whole = orjson.loads(text)
        items: list[tuple[int, Any]] = [(1, x) for x in (whole if isinstance(whole, list) else [whole])]
    except orjson.JSONDecodeError:
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    items.append((number, orjson.loads(line)))
                except orjson.JSONDecodeError as exc:
                    raise UsageError(f"{name}:{number}: not JSON ({exc})") from None
    if not items:
        raise UsageError(f"{name}: no orders")
    for number, item in items:
        if isinstance(item, dict) and item.get("kind") == "order" and "order" in item:
            item = item["order"]  # an `order-inputs` record
        elif isinstance(item, dict) and "order" in item and "type" in item:
            item = item["order"]  # an `order-events` record
        try:
            if not isinstance(item, dict):
                raise TypeError(f"expected a JSON object, got {type(item).__name__}")
            yield Order.from_dict(item)
        except (KeyError, TypeError, ValueError) as exc:
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
            raise UsageError(f"{name}:{number}: not a standard order: {detail}") from None


def _defaults(settings: Settings) -> RoutingDefaults:
    return RoutingDefaults(warehouse=settings.default_warehouse, carrier=settings.default_carrier)


def _print(obj: Any) -> None:
    sys.stdout.write(orjson.dumps(obj).decode() + "\n")


def _line(decision: RoutingDecision, order: Order, *, explain: bool) -> dict[str, Any]:
    return {"oli": order.oli, **decision.to_json(explain=explain)}


# ------------------------------------------------------------------ offline commands


def check(path: str) -> int:
    rules = load_rules(path)
    enabled = sum(r.enabled for r in rules)
    print(f"{path}: {len(rules)} rules OK ({enabled} enabled)")
    return 0


def route(rules_path: str, orders_path: str, skus: str | None, *, explain: bool) -> int:
    settings = Settings.from_env()
    ruleset = RuleSet(load_rules(rules_path))
    catalog = load_catalog(skus)
    geocoder = make_geocoder(settings)
    for order in read_orders(orders_path):
        decision = decide(order, ruleset, catalog, geocoder, _defaults(settings), explain=explain)
        _print(_line(decision, order, explain=explain))
    return 0


def _summary(d: RoutingDecision) -> tuple[Any, ...]:
    return (d.carrier, d.warehouse, tuple((h.reason, h.detail) for h in d.holds), d.tags, d.approvals)


def dry_run(path: str, orders_path: str | None, baseline: str | None, skus: str | None, last: int,
            broker: str | None) -> int:
    settings = _settings(broker)
    new = RuleSet(load_rules(path))
    if baseline is not None:
        old = RuleSet(load_rules(baseline))
    else:
        old = RuleSet(_published_rules(settings).values())
    catalog = load_catalog(skus) if skus else _published_catalog(settings) if orders_path is None else Catalog()
    orders = list(read_orders(orders_path)) if orders_path else _recent_orders(settings, last)
    geocoder = make_geocoder(settings)
    defaults = _defaults(settings)
    changed = 0
    by_rule: Counter[str] = Counter()
    for order in orders[-last:]:
        before = decide(order, old, catalog, geocoder, defaults)
        after = decide(order, new, catalog, geocoder, defaults)
        if _summary(before) == _summary(after):
            continue
        changed += 1
        fired_before, fired_after = set(before.rules_fired), set(after.rules_fired)
        movers = {r.id for r in fired_before ^ fired_after}
        movers |= {r.id for r, _ in set(after.evaluation.errors) ^ set(before.evaluation.errors)}
        for rule_id in movers or {"(none: catalog or defaults)"}:
            by_rule[rule_id] += 1
    _print({"orders": len(orders[-last:]), "changed": changed, "by_rule": dict(by_rule.most_common())})
    return 0


# ------------------------------------------------------------------ broker commands


def _settings(broker: str | None) -> Settings:
    return Settings.from_env(**({"broker": broker} if broker else {}))


def _run(coro: Any) -> Any:
    import logging

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the one-line error below says it
    try:
        return asyncio.run(asyncio.wait_for(coro, timeout=60))
    except (TimeoutError, OSError) as exc:
        raise UsageError(f"orderhub: broker not reachable or not answering ({exc.__class__.__name__})") from None
    except LookupError as exc:
        raise UsageError(f"orderhub: {exc}") from None
    except Exception as exc:
        if type(exc).__module__.startswith("aiokafka"):
            raise UsageError(f"orderhub: broker error: {exc}") from None
        raise


def _published_rules(settings: Settings) -> dict[str, Rule]:
    from app.reference_data import read_all

    raw = _run(read_all(settings, TopicNames(settings.topic_prefix).rules))
    rules: dict[str, Rule] = {}
    for key, value in raw.items():
        if value is None:
            continue
        try:
            rules[key] = codec.decode_rule(value)
        except OrderhubError as exc:
            print(f"orderhub: skipping unreadable rule {key!r} on the topic: {exc}", file=sys.stderr)
    return rules


def _published_catalog(settings: Settings) -> Catalog:
    from app.reference_data import read_all

    raw = _run(read_all(settings, TopicNames(settings.topic_prefix).skus))
    return Catalog({k: codec.decode_sku(v) for k, v in raw.items() if v is not None})


def _recent_orders(settings: Settings, last: int) -> list[Order]:
    """The last `last` orders of the `orders` table, read from its changelog topic."""
    from app.reference_data import read_all

    raw = _run(read_all(settings, f"{settings.app_id}-orders-changelog"))
    orders = [codec.decode_order(v) for v in raw.values() if v is not None]
    return sorted((o for o in orders if o is not None), key=lambda o: o.updated_at)[-last:]


def _audit(settings: Settings, entries: list[AuditEntry]) -> None:
    """Rule changes go on the audit topic like every other change (after the rules themselves)."""
    from app.reference_data import publish

    if entries:
        _run(publish(settings, TopicNames(settings.topic_prefix).audit,
                     [(audit_key(e), codec.encode(e)) for e in entries]))


def apply(path: str, broker: str | None, actor: str = "", reason: str = "") -> int:
    from app.reference_data import publish

    settings = _settings(broker)
    rules = load_rules(path)
    current = _published_rules(settings)
    out: list[tuple[str, bytes | None]] = []
    entries: list[AuditEntry] = []
    at = datetime.now(UTC)
    for rule in rules:
        old = current.get(rule.id)
        if old is not None and old.same_definition(rule):
            print(f"unchanged  {rule.id} v{old.version}")
            continue
        version = max(rule.version, old.version + 1) if old is not None else rule.version
        rule = replace(rule, version=version)
        out.append((rule.id, codec.encode_rule(rule)))
        entries.append(rule_change_entry(old, rule, actor=actor or _actor(), command="rules apply",
                                         reason=reason, at=at))
        print(f"published  {rule.id} v{version}{'' if rule.enabled else ' (disabled)'}")
    untouched = sorted(set(current) - {r.id for r in rules})
    for rule_id in untouched:
        print(f"kept       {rule_id} v{current[rule_id].version} (on the topic, not in {path})")
    _run(publish(settings, TopicNames(settings.topic_prefix).rules, out))
    _audit(settings, entries)
    return 0


def _actor() -> str:
    """Who runs the command: the login name (override with --actor)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def list_rules(broker: str | None, as_json: bool) -> int:
    settings = _settings(broker)
    rules = sorted(_published_rules(settings).values(), key=lambda r: (r.priority, r.id))
    for r in rules:
        if as_json:
            _print(r.to_dict())
        else:
            state = "enabled " if r.enabled else "disabled"
            print(f"{r.priority:>6}  {r.id:<32} v{r.version:<4} {state}  {r.name}")
    if not rules and not as_json:
        print("no rules published")
    return 0


def disable(rule_id: str, broker: str | None, actor: str = "", reason: str = "") -> int:
    from app.reference_data import publish

    settings = _settings(broker)
    current = _published_rules(settings)
    old = current.get(rule_id)
    if old is None:
        raise UsageError(f"orderhub rules disable: no rule {rule_id!r} is published")
    if not old.enabled:
        print(f"unchanged  {rule_id} v{old.version} (already disabled)")
        return 0
    rule = replace(old, enabled=False, version=old.version + 1)
    _run(publish(settings, TopicNames(settings.topic_prefix).rules, [(rule.id, codec.encode_rule(rule))]))
    _audit(settings, [rule_change_entry(old, rule, actor=actor or _actor(), command="rules disable",
                                        reason=reason, at=datetime.now(UTC))])
    print(f"disabled   {rule_id} v{rule.version}")
    return 0


def import_skus(path: str, broker: str | None) -> int:
    from app.reference_data import publish

    settings = _settings(broker)
    catalog = load_catalog(path)
    count = _run(publish(settings, TopicNames(settings.topic_prefix).skus,
                         [(key, codec.encode_sku(e)) for key, e in catalog.entries.items()]))
    print(f"published {count} SKUs to {TopicNames(settings.topic_prefix).skus}")
    return 0
