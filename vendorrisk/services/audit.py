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


# Who did it: a staff User, or a string such as "cli", "demo", "contractor:invitation:7".
Actor = User | str | None
SYSTEM = "system"


def actor_for(actor: Actor) -> str:
    if isinstance(actor, str):
        return actor
    if actor is not None and getattr(actor, "is_authenticated", False):
        return f"user:{actor.id}:{actor.email}"
    return SYSTEM


def _ambient_actor() -> str:
    """Transitional: services/annexes.py (owned elsewhere) does not pass its actor yet."""
    try:
        return actor_for(current_user._get_current_object())
    except (RuntimeError, AttributeError):
        return SYSTEM


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _payload(prev: str, organisation_id: int | None, actor: str, action: str, obj: str,
             data: dict[str, Any], at: str) -> dict[str, Any]:
    return {"prev": prev, "organisation_id": organisation_id, "actor": actor, "action": action,
            "object": obj, "data": data, "at": at}


def record(
    action: str,
    object_type: str,
    object_id: object,
    *,
    organisation_id: int | None,
    actor: Actor = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event chained to the previous one (flushes, never commits).

    Services pass `actor` (a User or an actor string); None is only for the legacy caller above."""
    label = actor_for(actor) if actor is not None else _ambient_actor()
    prev = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    at = utcnow()
    digest = _digest(_payload(prev, organisation_id, label, action, f"{object_type}:{object_id}", data or {},
                              at.isoformat()))
    event = AuditEvent(
        organisation_id=organisation_id,
        actor=label,
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
        digest = _digest(_payload(event.prev_hash, event.organisation_id, event.actor, event.action,
                                  f"{event.object_type}:{event.object_id}", event.data, event.at.isoformat()))
        if event.prev_hash != prev or digest != event.hash:
            bad.append(event.id)
        prev = event.hash
    return bad
