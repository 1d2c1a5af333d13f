"""Pure: bulk jobs: one command for many orders, and the job's progress.

A job is only its commands: each carries `job_id` and `job_size` and goes through roles,
the approval policy and the audit like any other command. Each partition counts the
outcomes of the job's commands it applied under the key `<job_id>/<partition>`; the
job's progress is the sum over the partitions.
"""

from __future__ import annotations

from typing import Any

from app.domain.errors import ValidationError

MAX_BULK = 10_000
OUTCOMES = ("applied", "approval_pending", "refused")


def outcome_kind(outcome: str) -> str:
    return outcome if outcome in ("applied", "approval_pending") else "refused"


def count(progress: dict[str, Any] | None, *, job_size: int, command: str, actor: str,
          outcome: str) -> dict[str, Any]:
    p = dict(progress or {"job_size": job_size, "command": command, "actor": actor, **dict.fromkeys(OUTCOMES, 0)})
    kind = outcome_kind(outcome)
    p[kind] = p.get(kind, 0) + 1
    return p


def merge(job_id: str, parts: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not parts:
        return None
    done = {k: sum(p.get(k, 0) for p in parts) for k in OUTCOMES}
    total = max(p["job_size"] for p in parts)
    processed = sum(done.values())
    return {"job_id": job_id, "command": parts[0]["command"], "actor": parts[0]["actor"], "total": total,
            "processed": processed, **done, "state": "done" if processed >= total else "running",
            "progress": processed / total if total else 1.0}


def targets(body: dict[str, Any]) -> tuple[list[str] | None, dict[str, str] | None]:
    """The job's orders: an explicit list of OLIs, or a search filter (not both)."""
    olis, flt = body.get("olis"), body.get("filter")
    if (olis is None) == (flt is None):
        raise ValidationError("give exactly one of 'olis' (a list) or 'filter' (an object)")
    if olis is not None:
        if not isinstance(olis, list) or not olis or not all(isinstance(o, str) and o for o in olis):
            raise ValidationError("field 'olis' must be a non-empty list of OLIs")
        if len(olis) > MAX_BULK:
            raise ValidationError(f"field 'olis' has {len(olis)} orders; a job takes at most {MAX_BULK}")
        return list(dict.fromkeys(olis)), None
    if not isinstance(flt, dict) or not flt:
        raise ValidationError("field 'filter' must be a non-empty object (status, channel, hold, q)")
    unknown = sorted(set(flt) - {"status", "channel", "hold", "q"})
    if unknown:
        raise ValidationError(f"unknown field 'filter.{unknown[0]}'")
    if not all(isinstance(v, str) for v in flt.values()):
        raise ValidationError("field 'filter': every value must be a string")
    return None, dict(flt)
