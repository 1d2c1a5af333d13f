"""Faust wiring: channel orders → adapter → standard order, re-keyed by OLI onto its lane of order inputs
(`order-inputs-paid` or `order-inputs`, app/domain/lanes.py).

The channels (built-in and ORDERHUB_CHANNELS_DIR mapping files) and their modes are
loaded once, on the first envelope (the worker has already validated them at start-up).
A channel in mode `off` is skipped: counted and logged (`order.skipped`), not
dead-lettered. A channel in mode `shadow` yields orders flagged `shadow`: events, no commands.
A paused channel's envelopes are parked, unmapped, until it is resumed (app/parking.py).
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

from agents.control import controller
from agents.wiring import consume, dead_letter, log, send
from app import codec, tracing
from app.channel_setup import ChannelSetup, load_channels
from app.domain.channel_modes import ChannelMode, apply_mode
from app.domain.lanes import PAID, lane_of_order
from app.main import app, settings, topic_names
from app.topics import channel_orders_topic, order_inputs_topic, paid_lane_topic

#: envelopes skipped per channel because the channel is off
skipped: Counter[str] = Counter()
#: envelopes parked per channel because the channel is paused
parked: Counter[str] = Counter()


@cache
def channels() -> ChannelSetup:
    return load_channels(settings)


async def ingest(event: Any) -> None:
    try:
        envelope = codec.decode_envelope(event.value)
        if not controller.caught_up.is_set():  # a worker that just started: is this channel paused?
            await controller.wait_caught_up()
        if envelope.channel in controller.paused_channels:
            await park(envelope.channel, event)
            return
        setup = channels()
        mode = setup.mode(envelope.channel)
        order = None
        if mode is not ChannelMode.OFF:  # an off channel's payloads are not even mapped
            adapted = setup.registry.get(envelope.channel).adapt(envelope.payload, shop_id=envelope.shop_id)
            order = apply_mode(adapted, mode)
    except Exception as exc:  # noqa: BLE001 — every failure is dead-lettered, never raised
        await dead_letter(event, exc, stage="ingest")
        return
    if order is None:
        skipped[envelope.channel] += 1
        count = skipped[envelope.channel]
        (log.info if count == 1 or count % 1000 == 0 else log.debug)(
            "order.skipped", stage="ingest", channel=envelope.channel, mode="off", skipped=count)
        return
    tracing.tag(oli=order.oli, channel=envelope.channel, event_type="channel_order",
                channel_status=order.channel_status)
    lane = paid_lane_topic if lane_of_order(order) == PAID else order_inputs_topic
    await send(lane, order.oli.encode(), codec.encode_order_input(order=order), event)
    log.debug("order.ingested", oli=order.oli, stage="ingest", channel_status=order.channel_status,
              shadow=order.shadow)


async def park(channel: str, event: Any) -> None:
    """Copy the envelope, as it came, to its channel's parking topic (an output of this event)."""
    await send(_ParkedTopic(topic_names.parked(channel)), event.message.key, event.message.value, event)
    parked[channel] += 1
    count = parked[channel]
    (log.info if count == 1 or count % 1000 == 0 else log.debug)(
        "order.parked", stage="ingest", channel=channel, parked=count)


class _ParkedTopic:
    """What `send` needs of a topic: its name (parking topics are not subscribed by Faust)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def get_topic_name(self) -> str:
        return self.name


@app.agent(channel_orders_topic, name="ingest-channel-orders")
async def ingest_channel_orders(stream):  # type: ignore[no-untyped-def]
    await consume(stream, ingest)
