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
    # The start of invitation links. None → the address this server is served on (SERVED_URL, set by
    # vendorrisk/gunicorn_conf.py), else http://127.0.0.1:5000. Set it behind a reverse proxy.
    "BASE_URL": None,
    "SERVED_URL": None,  # set by the gunicorn config from the socket it listens on; not for users
    # None → background jobs run inline, after the request's commit, and rate limits count in each
    # process. Checked by /healthz when set (so is a redis:// RATELIMIT_STORAGE_URI).
    "REDIS_URL": None,
    # Behind a reverse proxy: how many proxies to trust for X-Forwarded-For/-Proto/-Host/-Port
    # (werkzeug ProxyFix). 0 = none: the headers are ignored.
    "PROXY_FIX": 0,
    "HSTS_SECONDS": 365 * 24 * 3600,  # Strict-Transport-Security on responses served over HTTPS
    "RENDER_TIMEOUT": 60,  # seconds one annex render may take in a gunicorn worker before it is restarted
    # The invitation deadline when neither the officer nor the organisation's settings choose one: 開庁日.
    "INVITATION_DAYS": 10,
    "EVIDENCE_MAX_BYTES": 10 * 1024 * 1024,
    # Evidence files no row names (left by a crash) are removed at server start and by
    # `vendorrisk evidence sweep` once older than this (a younger one may be a save under way).
    "EVIDENCE_SWEEP_MINUTES": 10,
    "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_RATE_LIMIT": "10 per minute",
    "PORTAL_RATE_LIMIT": "60 per minute",
    # The page's autosave (every few seconds and on leaving a field), per link and address.
    "PORTAL_AUTOSAVE_RATE_LIMIT": "240 per minute",
    "API_RATE_LIMIT": "300 per minute",  # per API key
    # Wrong contractor links (404 under /r/): per client address, and for the whole server.
    "TOKEN_GUESS_RATE_LIMIT": "20 per minute",
    "TOKEN_GUESS_GLOBAL_LIMIT": "300 per minute",
    # How many gunicorn worker processes share the budgets above; set by vendorrisk/gunicorn_conf.py.
    # With in-process counting (no Redis) each worker gets 1/N of every budget, so N workers
    # together never let more through than configured (vendorrisk.serving.per_worker_budgets).
    "RATELIMIT_WORKERS": 1,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # False: the cookie is still Secure (and named __Host-session) on every request served over HTTPS;
    # True (make serve-prod): always Secure.
    "SESSION_COOKIE_SECURE": False,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    "TESTING": False,
    "JOB_TIMEOUT": 300,  # seconds one job may run on the RQ worker
}

ENV_PREFIX = "VENDORRISK"
# VENDORRISK_* variables that name folders (read by vendorrisk.paths), not configuration.
PATH_VARIABLES = ("INSTANCE", "TEMPLATES", "QUESTIONNAIRES")


def apply_environment(config: Config) -> None:
    """`VENDORRISK_*` variables (values read as JSON when they parse: 14, true), then DATABASE_URL
    and REDIS_URL."""
    config.from_prefixed_env(ENV_PREFIX)
    for key in PATH_VARIABLES:
        config.pop(key, None)
    for plain in ("DATABASE_URL", "REDIS_URL"):  # the names every hosting platform uses
        if os.environ.get(plain):
            config[plain] = os.environ[plain]
    # Rate limits count in Redis too when there is one, so every gunicorn worker shares one budget
    # (an explicit VENDORRISK_RATELIMIT_STORAGE_URI wins).
    if config.get("REDIS_URL") and not os.environ.get(f"{ENV_PREFIX}_RATELIMIT_STORAGE_URI"):
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]


def sqlalchemy_url(config: dict[str, Any], instance_path: Path) -> str:
    url = config.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance_path / 'vendorrisk.db'}"
    # Accept the common postgres:// and postgresql:// spellings and use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
