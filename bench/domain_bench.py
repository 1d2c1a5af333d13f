"""The pure work behind one input event, without Kafka or Faust.

Replays `orderhub bench`'s workload through the steps the agents run — decode, adapt,
re-key, load state, transition with rules and address routing, encode outputs and state,
append history — with plain dicts for tables, and answers every SHIP command with the
warehouse's acks. The figure is the floor of a worker's CPU per input event: everything
above it in `orderhub bench` is the framework (Faust streams, tables, changelogs) and Kafka.

    python -m bench.domain_bench [--events 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter, deque
from datetime import UTC, datetime

import orjson

from app import codec
from app.bench.workload import ACK_EVENTS, build_workload, wms_ack
from app.catalog import Catalog
from app.channel_setup import load_channels
from app.console.queries import append_history, event_entry
from app.domain import transitions
from app.domain.identity import make_oli
from app.domain.model import Order
from app.geocoders import make_geocoder
from app.routing import RulesRouter
from app.rules import RuleSet
from app.settings import Settings


def run(events: int, seed: int) -> tuple[int, float, Counter[str]]:
    settings = Settings.from_env()
    setup = load_channels(settings)
    router = RulesRouter(RuleSet(), Catalog(), make_geocoder(settings),
                         transitions.RoutingDefaults(warehouse="WH", carrier="SF"))
    workload = build_workload(events, seed=seed)
    orders: dict[bytes, bytes] = {}
    pending: dict[bytes, bytes] = {}
    history: dict[bytes, bytes] = {}
    counts: Counter[str] = Counter()
    queue = deque(workload.messages)

    def process(value: bytes, wms: bool) -> list[bytes]:
        now = datetime.now(UTC)
        if wms:
            item = codec.decode_wms_event(value)
            key = item.oli.encode()
            decision = transitions.apply_wms_event(codec.decode_order(orders.get(key)), item, now, router)
        else:
            item = codec.decode_order_input(value)
            oli = item.oli if isinstance(item, Order) else make_oli(item.channel, item.shop_id, item.external_id)
            key = oli.encode()
            state, waiting = codec.decode_order(orders.get(key)), codec.decode_payments(pending.get(key))
            if isinstance(item, Order):
                decision = transitions.apply_channel_update(state, item, waiting, now, router)
            else:
                decision = transitions.apply_payment(state, item, waiting, now, router)
        if not decision.changed:
            return []
        commands = [codec.encode(c) for c in decision.commands]
        encoded_events = [codec.encode(e) for e in decision.events]
        if encoded_events:
            entries = orjson.loads(history.get(key) or b"[]")
            for raw in encoded_events:
                entries = append_history(entries, event_entry(orjson.loads(raw)))
            history[key] = orjson.dumps(entries)
        if decision.order is not None:
            orders[key] = codec.encode(decision.order)
        if decision.pending is not None:
            pending[key] = codec.encode(decision.pending)
        return commands

    started = time.process_time()
    handled = 0
    while queue:
        kind, _key, value = queue.popleft()
        handled += 1
        try:
            if kind == "channel_order":
                envelope = codec.decode_envelope(value)
                order = setup.registry.get(envelope.channel).adapt(envelope.payload, shop_id=envelope.shop_id)
                commands = process(codec.encode_order_input(order=order), wms=False)
            elif kind == "payment":
                payment = codec.decode_payment(value)
                commands = process(codec.encode_order_input(payment=payment), wms=False)
            else:
                commands = process(value, wms=True)
        except Exception:  # noqa: BLE001 — poison messages: the agents dead-letter them
            counts["poison"] += 1
            continue
        for raw in commands:
            command = orjson.loads(raw)
            counts[command["type"]] += 1
            if command["type"] == "SHIP":
                queue.extendleft(("wms_event", b"", wms_ack(command, e)) for e in reversed(ACK_EVENTS))
    return handled, time.process_time() - started, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    opts = parser.parse_args()
    per_event = []
    for i in range(opts.runs):
        handled, cpu, counts = run(opts.events, opts.seed)
        per_event.append(cpu / handled * 1e6)
        print(f"run {i + 1}: {handled} input events in {cpu:.2f} CPU-s = {per_event[-1]:.0f} µs/event "
              f"(SHIP {counts['SHIP']}, poison {counts['poison']})", flush=True)
    print(f"median: {statistics.median(per_event):.0f} µs of CPU per input event "
          f"({1e6 / statistics.median(per_event):,.0f} events per CPU-second)")


if __name__ == "__main__":
    main()
