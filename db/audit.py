"""The audit trail: every read of a consultation by a clinician and every change writes one event.

Actions are a closed list so a typo fails loudly, and ``detail`` is checked against keys that could
carry secrets or patient free text.

Each event says who (``actor``), what (``action``, ``consultation_id``, ``detail``), when (``created_at``)
and, for requests from a browser, from where: ``detail["client"]`` (the client's address) and
``detail["session"]`` (a one-way reference to the browser session, never the session id itself, which is a
bearer credential). The web app registers :func:`set_origin_provider` once, so every data function that
records an event picks up the origin of the request it runs for; command lines have none. A caller may
also pass ``origin=`` explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
        "figures.view",  # the clinic's figures on the queue page (aggregates; issue 19 item 5)
        "consultation.claim",
        "consultation.release",
        "consultation.review",
        "consultation.close",
        "consultation.request_info",
        "consultation.answer",
        "consultation.follow_up",  # a follow-up was started with this consultation's code (issue 19)
        "consultation.history_view",  # a clinician saw this consultation as an earlier one of a follow-up
        "template.create",  # a management-note template (issue 19 item 3): id, shared; never its text
        "template.edit",
        "template.delete",
        "model.register",  # the model registry (issue 20): model id, version, sha256
        "model.activate",  # model id and version, the one it replaced, the admin's reason
        "model.shadow",  # a candidate scored in shadow for new consultations, or no longer
        "model.compare",  # two registered models compared on the reviewed consultations
        "model.retrain",  # a retraining from the reviewed consultations started (or its result registered)
        "patient.lookup",
        "patient.earlier_view",  # a patient saw this consultation as an earlier one of their follow-up
        "user.create",
        "user.login",
        "user.login_failed",
        "user.logout",
        "user.unlock",
        "user.password_reset",
        "export.training",
        "demo.seed",
        "study.create",
        "study.invite",
        "study.reading",
        "study.results_view",
        "study.export",
        "study.case_view",
        "study.folder_refused",
    }
)
SYSTEM = "system"
PATIENT = "patient"
ANONYMOUS = "anonymous"
FORBIDDEN_DETAIL_KEYS = frozenset(
    {"code", "access_code", "password", "password_hash", "free_text", "notes", "previous_treatment"}
)


ORIGIN_KEYS = ("client", "session")


@dataclass(frozen=True)
class Origin:
    """Where a request came from: the client's address and a one-way reference to its browser session."""

    client: str | None = None
    session: str | None = None

    def detail(self) -> dict[str, str]:
        return {key: value for key, value in (("client", self.client), ("session", self.session)) if value}


_origin_provider: Callable[[], Origin | None] | None = None


def set_origin_provider(provider: Callable[[], Origin | None] | None) -> None:
    """Register the function that tells :func:`record` the origin of the current request (None: none)."""
    global _origin_provider
    _origin_provider = provider


def current_origin() -> Origin | None:
    """The origin of the request being served, when a provider is registered and knows one."""
    return _origin_provider() if _origin_provider is not None else None


def clinician_actor(username: str) -> str:
    return f"clinician:{username}"


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    consultation_id: int | None = None,
    detail: dict[str, Any] | None = None,
    origin: Origin | None = None,
) -> AuditEvent:
    """Add one event to the caller's unit of work (it commits or rolls back with it).

    ``origin`` (default: :func:`current_origin`) adds ``client`` and ``session`` to ``detail``.
    """
    if action not in ACTIONS:
        raise ValidationError(f"Unknown audit action {action!r}; allowed: {sorted(ACTIONS)}.")
    leaked = FORBIDDEN_DETAIL_KEYS.intersection(detail or {})
    if leaked:
        raise ValidationError(f"Audit detail must not contain {sorted(leaked)}.")
    origin = origin if origin is not None else current_origin()
    detail = {**(detail or {}), **(origin.detail() if origin is not None else {})}
    event = AuditEvent(actor=actor, action=action, consultation_id=consultation_id, detail=detail)
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
