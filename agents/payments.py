"""Faust wiring: payments → re-keyed by OLI onto `order-inputs` (the key may be either form)."""

from __future__ import annotations

from app import codec
from app.domain.errors import OrderhubError, ValidationError
from app.domain.identity import make_oli
from app.main import app
from app.topics import order_inputs_topic, payments_topic
from agents.wiring import dead_letter, log


@app.agent(payments_topic, name="key-payments")
async def key_payments(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        try:
            payment = codec.decode_payment(event.value)
            try:
                oli = make_oli(payment.channel, payment.shop_id, payment.external_id)
            except ValueError as exc:
                raise ValidationError(f"payment: {exc}") from None
        except OrderhubError as exc:
            await dead_letter(event, exc, stage="payments")
            continue
        except Exception as exc:
            await dead_letter(event, exc, stage="payments")
            continue
        await order_inputs_topic.send(key=oli.encode(), value=codec.encode_order_input(payment=payment))
        log.debug("payment.keyed", oli=oli, stage="payments", payment_id=payment.payment_id)
