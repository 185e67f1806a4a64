"""Configuration defaults. Order: these defaults, then `instance/config.py`, then `VENDORRISK_*`
environment variables (and DATABASE_URL), then the mapping given to `create_app` (tests)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Config

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
}

ENV_PREFIX = "VENDORRISK"
# VENDORRISK_* variables that name folders (read by vendorrisk.paths), not configuration.
PATH_VARIABLES = ("INSTANCE", "TEMPLATES", "QUESTIONNAIRES")


def apply_environment(config: Config) -> None:
    """`VENDORRISK_*` variables (values read as JSON when they parse: 14, true), then DATABASE_URL."""
    config.from_prefixed_env(ENV_PREFIX)
    for key in PATH_VARIABLES:
        config.pop(key, None)
    if os.environ.get("DATABASE_URL"):
        config["DATABASE_URL"] = os.environ["DATABASE_URL"]


def sqlalchemy_url(config: dict[str, Any], instance_path: Path) -> str:
    url = config.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance_path / 'vendorrisk.db'}"
    # Accept the common postgres:// and postgresql:// spellings and use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
