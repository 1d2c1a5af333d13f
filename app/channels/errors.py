"""Pure: errors of the channel layer that are not about one payload."""

from __future__ import annotations

from app.domain.errors import OrderhubError

__all__ = ["MappingError"]


class MappingError(OrderhubError):
    """A mapping file orderhub cannot use. The message names the file, the field and the problem:
    ``channels/acme.yaml: fields.amounts.total: invalid JMESPath: ...``."""

    code = "invalid_mapping"

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source, self.field, self.problem = source, field, problem
        super().__init__(f"{source}: {field}: {problem}" if field else f"{source}: {problem}")
