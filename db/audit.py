"""The audit trail: every read of a consultation by a clinician and every change writes one event.

Actions are a closed list so a typo fails loudly, and ``detail`` is checked against keys that could
carry secrets or patient free text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.errors import ValidationError
from db.models import AuditEvent

ACTIONS = frozenset(
    {
        "consultation.submit",
        "consultation.view",
        "queue.view",
        "consultation.claim",
        "consultation.release",
        "consultation.review",
        "consultation.close",
        "patient.lookup",
        "user.create",
        "user.login",
        "user.login_failed",
        "export.training",
        "demo.seed",
        "study.create",
        "study.invite",
        "study.reading",
        "study.results_view",
        "study.export",
    }
)
SYSTEM = "system"
PATIENT = "patient"
ANONYMOUS = "anonymous"
FORBIDDEN_DETAIL_KEYS = frozenset(
    {"code", "access_code", "password", "password_hash", "free_text", "notes", "previous_treatment"}
)


def clinician_actor(username: str) -> str:
    return f"clinician:{username}"


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    consultation_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event to the caller's unit of work (it commits or rolls back with it)."""
    if action not in ACTIONS:
        raise ValidationError(f"Unknown audit action {action!r}; allowed: {sorted(ACTIONS)}.")
    leaked = FORBIDDEN_DETAIL_KEYS.intersection(detail or {})
    if leaked:
        raise ValidationError(f"Audit detail must not contain {sorted(leaked)}.")
    event = AuditEvent(actor=actor, action=action, consultation_id=consultation_id, detail=detail or {})
    session.add(event)
    return event


def list_events(
    session: Session, *, consultation_id: int | None = None, action: str | None = None, limit: int = 200
) -> list[AuditEvent]:
    """Events oldest first, optionally for one consultation or one action."""
    query = select(AuditEvent).order_by(AuditEvent.id)
    if consultation_id is not None:
        query = query.where(AuditEvent.consultation_id == consultation_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query.limit(limit)))
