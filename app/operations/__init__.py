"""Pure: the logic behind the operations tooling (DLQ ids, time filters, lag evaluation,
alert formats and de-duplication). No I/O, no clock: callers pass `now` in."""
