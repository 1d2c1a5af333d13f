"""Pure: the connectors' errors (the platforms' API errors live in app/platforms/base.py)."""

from __future__ import annotations

from app.domain.errors import OrderhubError


class ShopsFileError(OrderhubError):
    """The shops file cannot be used; the message names the shop and the field."""

    code = "shops_file_error"


class PushNotDelivered(OrderhubError):
    """A push whose order a window skipped as produced did not reach the broker: the window
    is listed again."""

    code = "push_not_delivered"
