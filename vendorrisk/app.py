"""The Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, Response, g, get_flashed_messages, request, session
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import config as config_module
from . import sqlite_writes
from .domain.vocabulary import JST
from .extensions import csrf, db, limiter, login_manager
from .paths import STATIC_DIR, TEMPLATES_DIR, default_instance_dir
from .web.unit_of_work import UnitOfWorkFlask

__all__ = ["JST", "UnsafeConfigError", "create_app"]


class UnsafeConfigError(RuntimeError):
    pass


def create_app(test_config: dict[str, Any] | None = None, *, instance_path: str | Path | None = None) -> Flask:
    instance_dir = Path(instance_path).resolve() if instance_path else default_instance_dir()
    app = UnitOfWorkFlask(
        __name__,
        instance_path=str(instance_dir),
        instance_relative_config=True,
        template_folder=str(TEMPLATES_DIR),
        static_folder=str(STATIC_DIR),
    )
    from .web.request import BoundedIntConverter, CleanRequest

    app.request_class = CleanRequest
    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    app.config.from_mapping(config_module.DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    config_module.apply_environment(app.config)
    if test_config:
        app.config.update(test_config)

    if not app.config.get("SECRET_KEY"):
        if app.config.get("TESTING"):
            app.config["SECRET_KEY"] = "testing-only-secret"
        else:
            raise UnsafeConfigError(
                f"SECRET_KEY is not set. Run `make setup` (it writes {instance_dir / 'config.py'}) "
                "or set VENDORRISK_SECRET_KEY."
            )

    instance_dir.mkdir(parents=True, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = config_module.sqlalchemy_url(app.config, instance_dir)
    # A server can drop a pooled connection (a restart, an idle timeout): ping it before use. An
    # SQLite file cannot, and the ping was a statement on every request.
    sqlite = str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite")
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {} if sqlite else {"pool_pre_ping": True})
    app.config["OUTBOX_DIR"] = str(instance_dir / "outbox")
    app.config["UPLOAD_DIR"] = str(instance_dir / "uploads")

    db.init_app(app)
    if app.config.get("SQLITE_WRITE_GATE"):  # set for gunicorn's workers (vendorrisk/gunicorn_conf.py)
        with app.app_context():
            sqlite_writes.install(db.engine)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "ログインしてください。"
    login_manager.login_message_category = "info"
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    app.config["RATELIMIT_STORAGE_URI"] = _limiter_storage(app.config)
    from . import serving

    serving.per_worker_budgets(app.config)
    limiter.init_app(app)

    serving.init_app(app)  # ProxyFix (PROXY_FIX), the HTTPS-aware session cookie

    _register_template_helpers(app)
    _register_blueprints(app)
    _register_security_headers(app)

    from .cli import register_cli

    register_cli(app)
    return app


def _limiter_storage(config: Any) -> str:
    """Where rate limits count: Redis when configured (shared by every worker), else in-process
    without a timer thread per hit (vendorrisk.extensions.ThreadFreeMemoryStorage)."""
    uri = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if uri == "memory://":
        return str(config["REDIS_URL"]) if config.get("REDIS_URL") else "threadfree-memory://"
    return uri


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL and foreign keys on every SQLite connection. Under WAL `synchronous=NORMAL` keeps the
    database consistent after a crash and loses no commit after a process kill (only, at worst,
    the last commits on a power loss), without an fsync per commit."""
    module = type(dbapi_connection).__module__
    if module.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def _register_blueprints(app: Flask) -> None:
    from .web import (  # noqa: F401  (their routes are on the staff and portal blueprints)
        admin,
        api,
        api_keys_admin,
        auth,
        errors,
        health,
        jobs_admin,
        legal,
        mail_admin,
        policy_admin,
        portal,
        portal_loop,
        records,
        review,
        staff,
    )
    from .web.answer_forms import check_answer_registry

    check_answer_registry()

    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(records.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(legal.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(policy_admin.bp)
    app.register_blueprint(jobs_admin.bp)
    app.register_blueprint(mail_admin.bp)
    app.register_blueprint(api_keys_admin.bp)
    app.register_blueprint(api.bp)
    errors.register(app)


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", CSP)
        if request.is_secure:  # directly, or through a trusted proxy (PROXY_FIX)
            response.headers["Strict-Transport-Security"] = f"max-age={int(app.config['HSTS_SECONDS'])}"
        if request.endpoint != "static":
            # Staff pages hold answers and personal data, token pages the token: never in a cache.
            response.headers["Cache-Control"] = "no-store"
        if request.blueprint == "portal":
            # Token links must not leak through Referer nor be indexed.
            response.headers["Referrer-Policy"] = "no-referrer"
            response.headers["X-Robots-Tag"] = "noindex, nofollow"
        else:
            response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def _register_template_helpers(app: Flask) -> None:
    from .domain.questionnaire.guideline import cite
    from .domain.wareki import date_time, long_date

    def localize(text: str, organisation: Any) -> str:
        return organisation.localize(text) if organisation is not None else text

    # One date style everywhere: 令和8年12月15日（火）; with the time (JST) only where it matters.
    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.filters["date_time"] = date_time
    app.jinja_env.filters["localize"] = localize
    app.jinja_env.filters["cite_guideline"] = cite

    # A page rendered as the answer to a POST speaks of that POST only. A message waiting for an
    # earlier request's page (a redirect whose page never arrived) would otherwise show there, e.g.
    # 「回答を保存しました。」 above a save that was refused; it is dropped with the page shown.
    @app.before_request
    def _count_waiting_messages() -> None:
        if request.method == "POST":
            g.waiting_messages = len(session.get("_flashes", ()))

    def page_messages() -> list[Any]:
        """(category, message) of the messages this page shows."""
        return list(get_flashed_messages(with_categories=True)[g.get("waiting_messages", 0):])

    app.jinja_env.globals["page_messages"] = page_messages
