"""The operator console's files: the tokens file, the approval and merge policies (read at start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from app.console.roles import TokenStore
from app.domain.approvals import ApprovalPolicy
from app.domain.errors import ValidationError
from app.domain.merge import MergePolicy
from app.settings import Settings, SettingsError


def _read(path: str, variable: str) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{variable}: cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"{variable}: {path} is not YAML/JSON: {str(exc).splitlines()[0]}") from None


def load_tokens(settings: Settings) -> TokenStore:
    if not settings.tokens_file:
        return TokenStore({})
    try:
        return TokenStore.from_dict(_read(settings.tokens_file, "ORDERHUB_TOKENS_FILE"))
    except ValidationError as exc:
        raise SettingsError(f"ORDERHUB_TOKENS_FILE {settings.tokens_file}: {exc}") from None


def load_policy(settings: Settings) -> ApprovalPolicy:
    if not settings.approval_policy_file:
        return ApprovalPolicy.default()
    try:
        return ApprovalPolicy.from_dict(_read(settings.approval_policy_file, "ORDERHUB_APPROVAL_POLICY_FILE"))
    except ValidationError as exc:
        raise SettingsError(f"ORDERHUB_APPROVAL_POLICY_FILE {settings.approval_policy_file}: {exc}") from None


def load_merge_policy(settings: Settings) -> MergePolicy:
    if not settings.merge_policy_file:
        return MergePolicy()
    try:
        return MergePolicy.from_dict(_read(settings.merge_policy_file, "ORDERHUB_MERGE_POLICY_FILE"))
    except ValidationError as exc:
        raise SettingsError(f"ORDERHUB_MERGE_POLICY_FILE {settings.merge_policy_file}: {exc}") from None
