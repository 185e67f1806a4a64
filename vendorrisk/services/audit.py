"""Append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import AuditEvent, User, utcnow

GENESIS = "0" * 64


def actor_for(user: User | None) -> str:
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.id}:{user.email}"
    return "system"


def record(
    action: str,
    object_type: str,
    object_id: object,
    *,
    organisation_id: int | None,
    actor: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event chained to the previous one (flushes, never commits)."""
    if actor is None:
        try:
            actor = actor_for(current_user._get_current_object())  # type: ignore[attr-defined]
        except (RuntimeError, AttributeError):
            actor = "system"
    prev = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    at = utcnow()
    payload = {
        "prev": prev,
        "organisation_id": organisation_id,
        "actor": actor,
        "action": action,
        "object": f"{object_type}:{object_id}",
        "data": data or {},
        "at": at.isoformat(),
    }
    digest = hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    event = AuditEvent(
        organisation_id=organisation_id,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=data or {},
        at=at,
        prev_hash=prev,
        hash=digest,
    )
    db.session.add(event)
    db.session.flush()
    return event


def verify_chain() -> list[int]:
    """Ids of events whose hash does not match their content or predecessor (empty when intact)."""
    bad: list[int] = []
    prev = GENESIS
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        payload = {
            "prev": event.prev_hash,
            "organisation_id": event.organisation_id,
            "actor": event.actor,
            "action": event.action,
            "object": f"{event.object_type}:{event.object_id}",
            "data": event.data,
            "at": event.at.isoformat(),
        }
        digest = hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
        if event.prev_hash != prev or digest != event.hash:
            bad.append(event.id)
        prev = event.hash
    return bad
