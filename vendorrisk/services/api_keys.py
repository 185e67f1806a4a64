"""API keys: created (shown once), authenticated by their SHA-256, revoked; every change audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import ApiKey, Organisation, StateError, User, utcnow
from . import audit

KEY_PREFIX = "vr_"
LAST_USED_EVERY = dt.timedelta(minutes=1)  # last-used is written at most once a minute per key


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # the whole key, shown to the admin once and never stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(org: Organisation, name: str, scope: str, *, actor: User) -> NewKey:
    if scope not in ("read", "write"):
        raise StateError("権限は「読み取り」か「読み書き」を選んでください。")
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(organisation_id=org.id, name=name, prefix=prefix, key_hash=_hash(secret), scope=scope,
                 created_by_id=actor.id)
    db.session.add(key)
    db.session.flush()
    audit.record("api_key.create", "api_key", key.id, organisation_id=org.id, actor=f"user:{actor.id}",
                 data={"name": name, "scope": scope, "prefix": prefix})
    return NewKey(key, secret)


def revoke_key(key: ApiKey, *, actor: User) -> None:
    if key.revoked_at is not None:
        raise StateError("このAPIキーはすでに無効にしています。")
    key.revoked_at = utcnow()
    audit.record("api_key.revoke", "api_key", key.id, organisation_id=key.organisation_id,
                 actor=f"user:{actor.id}", data={"prefix": key.prefix})


def authenticate(secret: str) -> ApiKey | None:
    """The active key behind a secret, or None. Records its last use (at most once a minute)."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    key = db.session.scalar(select(ApiKey).filter_by(key_hash=_hash(secret)))
    if key is None or not key.active:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
        key.last_used_at = now
    return key


def keys_of(org: Organisation) -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).filter_by(organisation_id=org.id).order_by(ApiKey.id.desc())))
