"""Pure: DLQ entry ids. ``<dlq topic>:<partition>:<offset>``, e.g. ``orderhub.payments.dlq:2:117``.

Kafka topic names cannot contain ``:``, so the id splits unambiguously from the right.
An id names one DLQ record for as long as the topic retains it.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.operations.errors import OperationsError

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True, slots=True, order=True)
class DlqId:
    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    @classmethod
    def parse(cls, text: str) -> DlqId:
        topic, sep1, rest = text.strip().partition(":")
        partition, sep2, offset = rest.partition(":")
        if not (sep1 and sep2) or not topic.endswith(DLQ_SUFFIX) or len(topic) == len(DLQ_SUFFIX):
            raise OperationsError(f"DLQ id {text!r} is not <dlq topic>:<partition>:<offset> "
                                  f"(e.g. orderhub.payments.dlq:0:42)")
        if not partition.isdigit() or not offset.isdigit():
            raise OperationsError(f"DLQ id {text!r}: partition and offset must be non-negative integers")
        return cls(topic, int(partition), int(offset))


def dlq_topic_for(name: str, prefix: str, inputs: tuple[str, ...]) -> str:
    """Resolve what an operator typed after ``--topic`` to a DLQ topic.

    Accepted: the DLQ topic (``orderhub.payments.dlq``), its source topic
    (``orderhub.payments``) or the short name (``payments``).
    """
    candidates = {t: t + DLQ_SUFFIX for t in inputs}
    name = name.strip()
    for source, dlq in candidates.items():
        if name in (dlq, source, source.removeprefix(prefix + "."),
                    dlq.removeprefix(prefix + ".")):
            return dlq
    known = ", ".join(sorted(s.removeprefix(prefix + ".") for s in candidates))
    raise OperationsError(f"--topic {name!r} is not an orderhub input or DLQ topic (known: {known})")
