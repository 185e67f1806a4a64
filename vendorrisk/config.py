"""Configuration defaults. Order: these defaults, then `instance/config.py`, then `VENDORRISK_*`
environment variables (and DATABASE_URL), then the mapping given to `create_app` (tests)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "DATABASE_URL": None,  # None → SQLite file in the instance folder
    "MAIL_SERVER": None,  # None → .eml files in instance/outbox only
    "MAIL_PORT": 25,
    "MAIL_USE_STARTTLS": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_SENDER": "vendorrisk@localhost",
    "MAIL_TIMEOUT": 10,
    "BASE_URL": "http://127.0.0.1:5000",
    "INVITATION_DAYS": 30,
    "EVIDENCE_MAX_BYTES": 10 * 1024 * 1024,
    "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_RATE_LIMIT": "10 per minute",
    "PORTAL_RATE_LIMIT": "60 per minute",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    "TESTING": False,
    "REDIS_URL": None,  # None → background jobs run inline, after the request's commit
    "JOB_TIMEOUT": 300,  # seconds one job may run on the RQ worker
}

ENV_PREFIX = "VENDORRISK_"


def _coerce(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = dict(os.environ if environ is None else environ)
    out: dict[str, Any] = {}
    for plain in ("DATABASE_URL", "REDIS_URL"):
        if environ.get(plain):
            out[plain] = environ[plain]
    for key, raw in environ.items():
        if key.startswith(ENV_PREFIX) and key not in ("VENDORRISK_INSTANCE", "VENDORRISK_TEMPLATES"):
            out[key[len(ENV_PREFIX):]] = _coerce(raw)
    return out


def sqlalchemy_url(config: dict[str, Any], instance_path: Path) -> str:
    url = config.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance_path / 'vendorrisk.db'}"
    # Accept the common postgres:// and postgresql:// spellings and use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
