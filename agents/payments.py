"""Faust wiring: payments → re-keyed by OLI onto the paid lane, `order-inputs-paid` (the key may be either form).

With paid-first off (ORDERHUB_PAID_FIRST_BACKLOG=0) onto `order-inputs`."""

from __future__ import annotations

from typing import Any

from agents.wiring import consume, dead_letter, log, send
from app import codec, tracing
from app.domain.errors import ValidationError
from app.domain.identity import make_oli
from app.main import app
from app.topics import paid_lane_topic, payments_topic


async def key_payment(event: Any) -> None:
    try:
        payment = codec.decode_payment(event.value)
        try:
            oli = make_oli(payment.channel, payment.shop_id, payment.external_id)
        except ValueError as exc:
            raise ValidationError(f"payment: {exc}") from None
    except Exception as exc:  # noqa: BLE001 — every failure is dead-lettered, never raised
        await dead_letter(event, exc, stage="payments")
        return
    tracing.tag(oli=oli, channel=payment.channel, event_type="payment", payment_id=payment.payment_id)
    await send(paid_lane_topic, oli.encode(), codec.encode_order_input(payment=payment), event)
    log.debug("payment.keyed", oli=oli, stage="payments", payment_id=payment.payment_id)


@app.agent(payments_topic, name="key-payments")
async def key_payments(stream):  # type: ignore[no-untyped-def]
    await consume(stream, key_payment)
