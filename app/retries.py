"""Transient or permanent: how the agents treat a failure, and the bounded retry of transient ones.

- **permanent**: the message itself is wrong (an `OrderhubError` that is not `retriable`:
  decode, validation, adapter, unknown order) → dead-lettered at once; trying again gives
  the same answer.
- **transient**: something outside may recover (`TransientError` from the geocoder, an
  aiokafka error marked `retriable`, a `KafkaTimeoutError` or `KafkaConnectionError`, `TimeoutError`,
  `ConnectionError`) → tried again with exponential backoff and full jitter (tenacity's
  `wait_random_exponential`) up to ORDERHUB_RETRY_ATTEMPTS tries in all.
- **unexpected** (any other exception: a bug) → not retried; dead-lettered with its traceback.

`RetryPolicy.call` runs the first try without any retry machinery (the hot path), and
builds tenacity's loop only after a transient failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from app import metrics
from app.domain.errors import OrderhubError, TransientError
from app.logs import get_logger
from app.settings import Settings

__all__ = ["RetriesExhaustedError", "RetryPolicy", "is_transient"]

T = TypeVar("T")
log = get_logger("orderhub.retries")


class RetriesExhaustedError(TransientError):
    """A transient failure that outlasted every try; dead-lettered as `transient_error`."""


def is_transient(exc: BaseException) -> bool:
    """True when trying the same thing again later may succeed."""
    if isinstance(exc, OrderhubError):
        return exc.retriable
    if isinstance(exc, KafkaTimeoutError | KafkaConnectionError):
        return True  # the client gave up waiting (aiokafka does not mark these `retriable`)
    if isinstance(exc, KafkaError):
        return bool(exc.retriable)
    return isinstance(exc, TimeoutError | ConnectionError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    backoff_s: float = 0.2
    backoff_max_s: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(attempts=settings.retry_attempts, backoff_s=settings.retry_backoff_ms / 1000,
                   backoff_max_s=settings.retry_backoff_max_ms / 1000)

    def retrying(self, what: str) -> AsyncRetrying:
        def log_retry(state: RetryCallState) -> None:
            exc: Any = state.outcome.exception() if state.outcome else None
            log.warning("retry.waiting", what=what, attempt=state.attempt_number, error=repr(exc),
                        wait_s=round(state.next_action.sleep, 3) if state.next_action else None)

        return AsyncRetrying(stop=stop_after_attempt(self.attempts),
                             wait=wait_random_exponential(multiplier=self.backoff_s, max=self.backoff_max_s),
                             retry=retry_if_exception(is_transient), reraise=True, before_sleep=log_retry)

    async def call(self, fn: Callable[[], Awaitable[T]], *, what: str) -> T:
        """`await fn()`, tried again on transient failures; the last failure is raised as it was."""
        try:
            return await fn()
        except Exception as exc:
            if not is_transient(exc) or self.attempts <= 1:
                raise
            first = exc
        return await self.retry_after(first, fn, what=what)

    async def retry_after(self, first: BaseException, fn: Callable[[], Awaitable[T]], *, what: str) -> T:
        """Try `fn` again after its first try failed with `first` (which counts as attempt 1)."""
        if not is_transient(first) or self.attempts <= 1:
            raise first
        metrics.retries.labels(what).inc()
        pending: BaseException | None = first

        async def again() -> T:
            nonlocal pending
            if pending is not None:  # replay the first failure so tenacity waits before the second try
                failed, pending = pending, None
                raise failed
            return await fn()

        return await self.retrying(what)(again)  # type: ignore[no-any-return]

    async def decide(self, fn: Callable[[], Awaitable[T]], *, what: str) -> T:
        """Like `call`, for a processing step: transient failures that outlast every try become
        `RetriesExhaustedError` (dead-lettered as `transient_error`, the tries in its message)."""
        try:
            return await self.call(fn, what=what)
        except Exception as exc:
            if is_transient(exc) and self.attempts > 1:
                raise RetriesExhaustedError(f"{type(exc).__name__}: {exc} (gave up after {self.attempts} tries)") \
                    from exc
            raise

