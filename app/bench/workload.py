"""Pure: the benchmark's traffic, built from the demo's order stories.

A workload is the messages preloaded before a run (channel orders, payments, duplicate
deliveries and a few poison messages, mixed channels) plus the WMS acknowledgements the
warehouse simulator sends while the run goes on: ACCEPTED and SHIPPED for every SHIP
command. Acks answer real commands (their `command_id` must match the order's state), so
they cannot be preloaded; they still count as input events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from app.demo_data import OrderStory, generate, poison_messages

#: the acks the warehouse sends for each SHIP command, in order
ACK_EVENTS = ("ACCEPTED", "SHIPPED")
#: the poison messages small enough to be background noise (the 1 MB one would dominate the bytes)
POISON_LIMIT_BYTES = 64 * 1024


@dataclass(frozen=True)
class Workload:
    """`messages` are (kind, key, value) with kind `channel_order`, `payment` or `wms_event`."""

    messages: list[tuple[str, bytes, bytes]]
    orders: int
    paid: frozenset[str]  # OLIs that must get exactly one SHIP command
    poison: int

    @property
    def acks(self) -> int:
        return len(ACK_EVENTS) * len(self.paid)

    @property
    def events(self) -> int:
        """Input events the pipeline processes: the preloaded messages and the acks."""
        return len(self.messages) + self.acks


def _events_of(story: OrderStory) -> int:
    return len(story.sends) + (len(ACK_EVENTS) if story.fate == "paid" else 0)


def _stories(events: int, seed: int) -> Iterator[OrderStory]:
    """Stories until their events reach `events` (generated in chunks: `generate` is seeded per call)."""
    total, chunk = 0, 0
    while True:
        for story in generate(1000, seed=seed * 1000 + chunk):
            if total >= events:
                return
            total += _events_of(story)
            yield story
        chunk += 1


def build_workload(events: int, *, seed: int = 7) -> Workload:
    poison = [(kind, key, value) for kind, key, value in poison_messages() if len(value) <= POISON_LIMIT_BYTES]
    stories = list(_stories(max(0, events - len(poison)), seed))
    messages: list[tuple[str, bytes, bytes]] = []
    for story in stories:
        messages.extend((send.kind, send.key, send.value) for send in sorted(story.sends, key=lambda s: s.at))
    # poison spread through the traffic, so neighbours are processed around it
    for i, item in enumerate(poison):
        messages.insert((i + 1) * len(messages) // (len(poison) + 1), item)
    return Workload(messages=messages, orders=len(stories),
                    paid=frozenset(s.oli for s in stories if s.fate == "paid"), poison=len(poison))


def wms_ack(command: dict[str, Any], event: str) -> bytes:
    """The warehouse's answer to a fulfillment command."""
    return orjson.dumps({
        "command_id": command["command_id"], "oli": command["oli"], "event": event,
        "carrier": command.get("carrier", ""), "tracking_no": "SF" + command["command_id"][-8:],
        "at": command["requested_at"], "reason": ""})


def baseline_messages(workload: Workload) -> list[tuple[str, bytes, bytes]]:
    """The same payloads for the bare baseline, the acks included (it keeps no state, so their
    command ids need not match anything)."""
    acks = [("wms_event", oli.encode(), wms_ack({"command_id": f"{oli}@2", "oli": oli, "carrier": "SF",
                                                  "requested_at": "2026-11-11T00:00:00+00:00"}, event))
            for oli in sorted(workload.paid) for event in ACK_EVENTS]
    return [*workload.messages, *acks]
