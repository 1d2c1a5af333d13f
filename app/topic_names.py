"""Topic names: the persisted contract. `<prefix>.<name>`; never rename casually."""

from __future__ import annotations

from dataclasses import dataclass

DLQ_SUFFIX = ".dlq"
PARKED_INFIX = ".parked."


@dataclass(frozen=True, slots=True)
class TopicNames:
    prefix: str = "orderhub"

    def _t(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    # inputs
    @property
    def channel_orders(self) -> str:
        return self._t("channel-orders")

    @property
    def payments(self) -> str:
        return self._t("payments")

    @property
    def wms_events(self) -> str:
        return self._t("wms-events")

    @property
    def ops_commands(self) -> str:
        return self._t("ops-commands")

    # reference data: compacted, read in full by every worker
    @property
    def rules(self) -> str:
        return self._t("rules")

    @property
    def skus(self) -> str:
        return self._t("skus")

    @property
    def reference(self) -> tuple[str, ...]:
        return (self.rules, self.skus)

    # internal: channel orders and payments re-keyed by oli so one worker owns each order
    @property
    def order_inputs(self) -> str:
        return self._t("order-inputs")

    # internal: the paid lane of order inputs (payments, paid orders, watchdog ticks), taken
    # first while there is a backlog (app/domain/lanes.py)
    @property
    def order_inputs_paid(self) -> str:
        return self._t("order-inputs-paid")

    # internal: merge notices keyed by merge key, so one worker holds each merge group
    @property
    def merge_candidates(self) -> str:
        return self._t("merge-candidates")

    # the pull connectors' checkpoints (compacted, key channel:shop)
    @property
    def connector_cursors(self) -> str:
        return self._t("connector-cursors")

    # outputs
    @property
    def order_events(self) -> str:
        return self._t("order-events")

    @property
    def fulfillment_commands(self) -> str:
        return self._t("fulfillment-commands")

    @property
    def audit(self) -> str:
        return self._t("audit")

    @property
    def alerts(self) -> str:
        return self._t("alerts")

    @property
    def control(self) -> str:
        """Pause / resume commands every worker follows (compacted, one partition)."""
        return self._t("control")

    @property
    def dlq_replays(self) -> str:
        """Compacted record of replayed DLQ ids (`orderhub dlq replay`), key = DLQ id."""
        return self._t("dlq-replays")

    def parked(self, channel: str) -> str:
        """Envelopes of a paused channel wait here until it is resumed (keyed as channel-orders)."""
        return f"{self.channel_orders}{PARKED_INFIX}{channel}"

    def channel_of_parked(self, topic: str) -> str | None:
        head = self.channel_orders + PARKED_INFIX
        return topic[len(head):] if topic.startswith(head) else None

    @staticmethod
    def dlq(topic: str) -> str:
        return topic + DLQ_SUFFIX

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.channel_orders, self.payments, self.wms_events, self.order_inputs, self.order_inputs_paid,
                self.ops_commands, self.merge_candidates)

    @property
    def outputs(self) -> tuple[str, ...]:
        return (self.order_events, self.fulfillment_commands, self.audit, self.alerts)
