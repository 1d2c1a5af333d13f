"""Pure: the error hierarchy. `retriable` tells an agent whether to retry or dead-letter at once."""

from __future__ import annotations

from typing import ClassVar


class OrderhubError(Exception):
    """Root of every error orderhub raises on purpose."""

    retriable: ClassVar[bool] = False
    #: short machine-readable reason, used as the DLQ `error_type` and as a metric label
    code: ClassVar[str] = "orderhub_error"


class DecodeError(OrderhubError):
    """The bytes are not what the topic promises (not UTF-8, not JSON, too large)."""

    code = "decode_error"


class ValidationError(OrderhubError):
    """The message decodes but its shape or values are wrong."""

    code = "invalid_message"


class UnknownChannelError(OrderhubError):
    """No adapter is registered for the envelope's channel."""

    code = "unknown_channel"


class UnknownStatusError(OrderhubError):
    """A platform status code the channel's status table does not know: never guessed."""

    code = "unknown_status"


class AdapterError(OrderhubError):
    """A channel payload the adapter cannot map to the standard order model."""

    code = "adapter_error"


class UnknownOrderError(OrderhubError):
    """An event refers to an order this worker has never seen."""

    code = "unknown_order"


class TransientError(OrderhubError):
    """A failure that may pass on its own (a timeout, a broker hiccup)."""

    retriable = True
    code = "transient_error"
