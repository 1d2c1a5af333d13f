"""Pure: bearer tokens and roles. The tokens file stores only SHA-256 hashes of the tokens.

Tokens are long random strings made by `orderhub token` (32 bytes from `secrets`), so a
plain SHA-256 is enough: a slow password hash protects guessable secrets, and these are
not guessable. Tokens file (YAML or JSON)::

    tokens:
      - {name: olga, role: operator, sha256: 9f86d0818...}
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from app.domain.errors import ValidationError


class Role(enum.StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    APPROVER = "approver"
    ADMIN = "admin"


class Permission(enum.StrEnum):
    READ = "read"
    UNMASKED = "unmasked"  # see receiver name, phone and street unmasked
    COMMAND = "command"  # send commands, bulk jobs, accept merges
    APPROVE = "approve"


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.OPERATOR: frozenset({Permission.READ, Permission.UNMASKED, Permission.COMMAND}),
    Role.APPROVER: frozenset({Permission.READ, Permission.UNMASKED, Permission.APPROVE}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "ohk_" + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class TokenStore:
    by_hash: dict[str, Principal]

    @classmethod
    def from_dict(cls, data: Any) -> TokenStore:
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise ValidationError("tokens file: expected a mapping with a 'tokens' list")
        by_hash: dict[str, Principal] = {}
        for i, entry in enumerate(data["tokens"]):
            if not isinstance(entry, dict):
                raise ValidationError(f"tokens file: tokens[{i}] must be a mapping")
            name, role, digest = entry.get("name"), entry.get("role"), entry.get("sha256")
            if not isinstance(name, str) or not name:
                raise ValidationError(f"tokens file: tokens[{i}].name must be a non-empty string")
            if role not in Role.__members__.values():
                raise ValidationError(f"tokens file: tokens[{i}].role must be one of {', '.join(Role)}")
            if not isinstance(digest, str) or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
                raise ValidationError(f"tokens file: tokens[{i}].sha256 must be 64 lowercase hex digits")
            by_hash[digest] = Principal(name, Role(role))
        return cls(by_hash)

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal of an `Authorization: Bearer <token>` header, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = hash_token(token.strip())
        for known, principal in self.by_hash.items():
            if hmac.compare_digest(known, digest):
                return principal
        return None


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "*" * len(phone)


def mask_receivers(value: Any) -> Any:
    """A copy with every `receiver` object's name, phone and street masked (for viewers)."""
    if isinstance(value, list):
        return [mask_receivers(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key == "receiver" and isinstance(item, dict):
            item = dict(item)
            if isinstance(item.get("name"), str):
                item["name"] = mask_name(item["name"])
            if isinstance(item.get("phone"), str):
                item["phone"] = mask_phone(item["phone"])
            if isinstance(item.get("address"), dict) and item["address"].get("detail"):
                item["address"] = dict(item["address"], detail="***")
            out[key] = item
        else:
            out[key] = mask_receivers(item)
    return out
