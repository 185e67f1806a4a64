"""How the app is served: the public base URL of links, HTTPS-aware session cookies, ProxyFix,
the per-process render lock of gunicorn workers and the checks behind GET /healthz.

Kept out of the views and services so the gunicorn config (vendorrisk/gunicorn_conf.py), the app
factory and the health page share one definition of each rule.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)

FALLBACK_BASE_URL = "http://127.0.0.1:5000"
HOST_COOKIE_PREFIX = "__Host-"


# -- Rate-limit budgets across gunicorn workers -----------------------------------------------------

RATE_LIMIT_KEYS = ("LOGIN_RATE_LIMIT", "PORTAL_RATE_LIMIT", "PORTAL_AUTOSAVE_RATE_LIMIT", "API_RATE_LIMIT",
                   "TOKEN_GUESS_RATE_LIMIT", "TOKEN_GUESS_GLOBAL_LIMIT")
IN_PROCESS_STORAGE = ("memory://", "threadfree-memory://")


def per_worker_budgets(config: dict[str, Any]) -> None:
    """Without Redis every gunicorn worker counts on its own: with N workers (RATELIMIT_WORKERS, set
    by the gunicorn config) each gets 1/N of every budget, rounded down and at least 1, so together
    they never let more through than configured ("10 per minute" → "5 per 1 minute" each for two).
    A request may be refused a little early (its worker's share is spent while another's is not);
    never too late. With Redis (REDIS_URL or RATELIMIT_STORAGE_URI) all share one count: unchanged."""
    workers = int(config.get("RATELIMIT_WORKERS") or 1)
    if workers <= 1 or not str(config.get("RATELIMIT_STORAGE_URI") or "").startswith(IN_PROCESS_STORAGE):
        return
    from limits import parse_many

    for key in RATE_LIMIT_KEYS:
        if config.get(key):
            config[key] = "; ".join(
                f"{max(1, item.amount // workers)} per {item.multiples} {item.GRANULARITY.name}"
                for item in parse_many(str(config[key]))
            )


# -- The base URL of links --------------------------------------------------------------------------

def public_base_url(config: Mapping[str, Any] | None = None) -> str:
    """The start of links mailed to contractors: VENDORRISK_BASE_URL when set, else the address this
    server listens on (so `make run PORT=5050` mails links on 5050), else http://127.0.0.1:5000.

    Never the request's Host header: anyone can send one, and the link goes into an e-mail."""
    config = current_app.config if config is None else config
    url = config.get("BASE_URL") or config.get("SERVED_URL") or FALLBACK_BASE_URL
    return str(url).rstrip("/")


def served_url(address: Any) -> str:
    """http://host:port for a listening socket's address (a wildcard bind gives this machine's name)."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = str(address[0]), int(address[1])
        # bandit B104 (bind to all interfaces) is a false positive: this reads the bound address.
        if host in ("0.0.0.0", "::", ""):  # nosec B104
            host = socket.getfqdn()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"
    return FALLBACK_BASE_URL  # a unix socket: only a proxy reaches it; BASE_URL must be set


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = (parts.scheme or "http").lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def _is_local(host: str) -> bool:
    if host in ("localhost", socket.gethostname().lower(), socket.getfqdn().lower()):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified or address.is_private


def base_url_warning(config: Mapping[str, Any] | None = None) -> str | None:
    """A sentence for the log and the admin page when mailed links would not reach this server."""
    config = current_app.config if config is None else config
    base, served = config.get("BASE_URL"), config.get("SERVED_URL")
    behind_proxy = int(config.get("PROXY_FIX") or 0) > 0
    if not served:
        return None  # not under gunicorn (tests, CLI): nothing to compare with
    if not base:
        if behind_proxy:
            return (f"VENDORRISK_BASE_URL が設定されていません。回答用リンクが内部のアドレス（{served}）になり、"
                    "委託事業者が開けません。公開しているアドレス（例：https://vendorrisk.example.lg.jp）を設定してください。")
        return None
    if _origin(base) == _origin(served):
        return None
    if behind_proxy and not _is_local(_origin(base)[1]):
        return None  # a public name in front of a reverse proxy: the expected set-up
    return (f"回答用リンクの先頭（VENDORRISK_BASE_URL = {base}）が、このサーバーのアドレス（{served}）と"
            "一致しません。メールで送るリンクが開けない可能性があります。設定を確認してください。")


def base_url_status(config: Mapping[str, Any] | None = None) -> dict[str, str | None]:
    """For the admin page: the base of the links in use, where it comes from, the address served on and
    whether the two match (in Japanese)."""
    config = current_app.config if config is None else config
    base, served = config.get("BASE_URL"), config.get("SERVED_URL")
    if base:
        source = "VENDORRISK_BASE_URL の設定"
    elif served:
        source = "VENDORRISK_BASE_URL が未設定のため、このサーバーのアドレス"
    else:
        source = "VENDORRISK_BASE_URL が未設定のため、既定値"
    if base_url_warning(config):
        verdict = "一致していません。上の注意を確認してください。"
    elif not served:
        verdict = "このサーバーのアドレスが分からないため、比較できません。"
    elif _origin(public_base_url(config)) == _origin(str(served)):
        verdict = "このサーバーのアドレスと一致しています。"
    else:
        verdict = "リバースプロキシの公開アドレスです（このサーバーへは転送で届きます）。"
    return {"base": public_base_url(config), "source": source, "served": str(served) if served else None,
            "verdict": verdict}


# -- HTTPS: ProxyFix and the session cookie ---------------------------------------------------------

class ServedSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, but Secure and named `__Host-session` on every request that came
    over HTTPS (directly or, with PROXY_FIX, through a proxy that says X-Forwarded-Proto: https)."""

    @staticmethod
    def _https() -> bool:
        return has_request_context() and request.is_secure

    def get_cookie_name(self, app: Flask) -> str:
        name = str(app.config["SESSION_COOKIE_NAME"])
        return HOST_COOKIE_PREFIX + name if self._https() and not name.startswith(HOST_COOKIE_PREFIX) else name

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or self._https()


def init_app(app: Flask) -> None:
    """ProxyFix (PROXY_FIX proxies trusted), the HTTPS-aware session cookie, the admin page's warning."""
    proxies = int(app.config.get("PROXY_FIX") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)  # type: ignore[method-assign]
    app.session_interface = ServedSessionInterface()
    app.jinja_env.globals["base_url_warning"] = base_url_warning
    app.jinja_env.globals["base_url_status"] = base_url_status


# -- gunicorn workers: one render at a time per process, bounded in time ------------------------------

def sweep_evidence(app: Flask, older_than_minutes: float | None = None) -> Any:
    """Remove evidence files a crash left without their row (services.evidence.sweep_orphans), once
    they are older than EVIDENCE_SWEEP_MINUTES; run when gunicorn starts and by `vendorrisk evidence sweep`."""
    from .extensions import db
    from .services.evidence import sweep_orphans

    minutes = app.config["EVIDENCE_SWEEP_MINUTES"] if older_than_minutes is None else older_than_minutes
    with app.app_context():
        try:
            return sweep_orphans(app.config["UPLOAD_DIR"], older_than=float(minutes) * 60)
        finally:
            db.session.remove()


def _render_timed_out(seconds: float) -> None:
    log.error("特記事項の作成が %s 秒を超えたため、このワーカーを再起動します（pid %s）。", seconds, os.getpid())
    logging.shutdown()
    os._exit(1)  # gunicorn's master starts a fresh worker; a thread cannot be stopped any other way


def install_render_lock(renderer: Any, *, timeout: float,
                        on_timeout: Callable[[float], None] = _render_timed_out) -> None:
    """Serialise PDF renders in this process and bound each one in time.

    WeasyPrint is not thread-safe and rendering is CPU-bound (under the GIL a second concurrent render
    in one process only slows both down), so gthread workers render one annex at a time; parallel
    renders come from several worker processes. A render that runs past `timeout` seconds ends the
    worker (gunicorn replaces it): a render normally takes about a second.
    """
    if getattr(renderer, "_vendorrisk_render_lock", None) is not None:
        return
    lock = threading.Lock()
    inner = renderer.pdf_from_html

    @functools.wraps(inner)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            watchdog = threading.Timer(timeout, on_timeout, args=(timeout,))
            watchdog.daemon = True
            watchdog.start()
            try:
                return inner(*args, **kwargs)
            finally:
                watchdog.cancel()

    renderer.pdf_from_html = locked
    renderer._vendorrisk_render_lock = lock


# -- GET /healthz ---------------------------------------------------------------------------------

def _check_database() -> dict[str, Any]:
    from .extensions import db

    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure is "unhealthy", never a 500
        db.session.rollback()
        return {"ok": False, "detail": type(exc).__name__}
    return {"ok": True, "detail": db.engine.dialect.name}


def redis_url(config: Mapping[str, Any]) -> str | None:
    """REDIS_URL, or the rate-limit storage when it is Redis."""
    if config.get("REDIS_URL"):
        return str(config["REDIS_URL"])
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "")
    return storage if storage.startswith(("redis://", "rediss://")) else None


def _redis_ping(url: str, timeout: float = 2.0) -> bool:
    """PING over the Redis protocol (no client library needed for one command)."""
    parts = urlsplit(url)
    if parts.scheme == "rediss":
        import ssl

        wrap: Callable[[socket.socket], socket.socket] = functools.partial(
            ssl.create_default_context().wrap_socket, server_hostname=parts.hostname)
    else:
        wrap = lambda s: s  # noqa: E731
    commands = b""
    if parts.password:
        user = unquote(parts.username or "")
        args = [b"AUTH"] + ([user.encode()] if user else []) + [unquote(parts.password).encode()]
        commands += b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    commands += b"*1\r\n$4\r\nPING\r\n"
    with wrap(socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout)) as conn:
        conn.sendall(commands)
        reply = b""
        while b"PONG" not in reply and not reply.startswith(b"-"):
            chunk = conn.recv(256)
            if not chunk:
                break
            reply += chunk
    return b"+PONG" in reply


def _check_redis(config: Mapping[str, Any]) -> dict[str, Any]:
    url = redis_url(config)
    if url is None:
        return {"ok": True, "detail": "not configured"}
    try:
        ok = _redis_ping(url)
    except OSError as exc:
        return {"ok": False, "detail": type(exc).__name__}
    return {"ok": ok, "detail": "PONG" if ok else "no PONG"}


def _check_fonts() -> dict[str, Any]:
    from .adapters.pdf import FontsMissingError, default_fonts

    try:
        fonts = default_fonts()
    except FontsMissingError:
        return {"ok": False, "detail": "NotoSerifCJK-Regular.ttc / NotoSerifCJK-Bold.ttc not found"}
    files = [fonts.regular, fonts.bold]
    missing = [f.name for f in files if not f.is_file()]
    return {"ok": not missing, "detail": ", ".join(missing or [f.name for f in files])}


def _check_harfbuzz_subset() -> dict[str, Any]:
    try:
        from weasyprint.text import ffi
    except Exception as exc:
        return {"ok": False, "detail": type(exc).__name__}
    ok = getattr(ffi, "harfbuzz_subset", None) is not None
    return {"ok": ok, "detail": "libharfbuzz-subset loaded" if ok else "libharfbuzz-subset missing"}


def health_report() -> tuple[dict[str, Any], bool]:
    """Every check by name, and whether all passed."""
    checks = {
        "database": _check_database(),
        "redis": _check_redis(current_app.config),
        "fonts": _check_fonts(),
        "harfbuzz_subset": _check_harfbuzz_subset(),
    }
    healthy = all(c["ok"] for c in checks.values())
    return {"status": "ok" if healthy else "fail", "checks": checks}, healthy
