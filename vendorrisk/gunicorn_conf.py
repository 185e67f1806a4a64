"""gunicorn settings for vendorrisk (`make run`, `make serve-prod`):

    gunicorn -c vendorrisk/gunicorn_conf.py --bind 127.0.0.1:5000 'vendorrisk:create_app()'

Worker class and count. The app does two kinds of work: short requests that wait on the database
(a contractor's save, staff lists) and, rarely, CPU-bound annex renders (WeasyPrint, ~0.5–2 s, not
thread-safe). We use **gthread** workers:
- a thread per request, so an idle or slow client holds one thread at most, never the process
  (gunicorn's gthread also hands a connection that sends nothing within 5 s back to its poller);
  a sync worker would stall on it until `timeout` and is only safe behind a buffering proxy;
- one render at a time per process: `post_worker_init` wraps the annex renderer in a lock
  (vendorrisk.serving.install_render_lock), since threads under the GIL would only slow each other;
- **workers = the number of CPU cores** (2 here, at most 8): that many renders run in parallel, and
  each worker keeps its own warmed renderer (fonts loaded: ~100 MB), so more workers cost memory
  without adding CPU; **threads = 4** per worker cover database waits and slow clients.
  (VENDORRISK_WORKER_CLASS=sync is possible behind a buffering proxy; gunicorn uses gthread anyway
  while threads > 1, so set VENDORRISK_THREADS=1 with it.)

SQLite writes. Threads of one worker that write at the same time would otherwise meet inside SQLite,
whose busy handler sleeps between tries; the workers queue their writers on a gate that wakes the
next one at once (vendorrisk/sqlite_writes.py; VENDORRISK_SQLITE_WRITE_GATE=false turns it off).

Environment (the VENDORRISK_* ones are also read by the app):
  VENDORRISK_WORKERS, VENDORRISK_THREADS, VENDORRISK_WORKER_CLASS, VENDORRISK_TIMEOUT,
  VENDORRISK_MAX_REQUESTS, VENDORRISK_RENDER_TIMEOUT (seconds per annex render, default 60),
  and GUNICORN_CMD_ARGS for any other gunicorn option (it overrides this file).

Behind a reverse proxy set VENDORRISK_PROXY_FIX=<number of proxies> (the app's ProxyFix then trusts
X-Forwarded-For/-Proto/-Host/-Port from that many hops) and VENDORRISK_BASE_URL; gunicorn's own
forwarded-header handling is switched off below so that trust is decided in one place.

Rate limits (logins, contractor links, the API). With Redis (REDIS_URL, or VENDORRISK_RATELIMIT_STORAGE_URI
=redis://…, as `make serve-prod` sets) every worker counts in one place. Without it (`make run` /
`make serve` on a laptop) each worker counts in its own memory, so `when_ready` below tells the app
the number of workers (VENDORRISK_RATELIMIT_WORKERS) and each worker gets 1/N of every budget,
rounded down: with 2 workers and LOGIN_RATE_LIMIT "10 per minute" each allows 5, never 20 together
(vendorrisk.serving.per_worker_budgets). A client may be refused slightly before the configured
number when its requests land on one worker; use Redis for exact counts.

The access log is off by default. When it is switched on (`--access-logfile -`), its lines, like the
error log's, pass through vendorrisk.logging_filters: the /r/<token> of contractor links is masked.
"""

from __future__ import annotations

import logging
import os
from typing import Any


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() else default


# Writers to an SQLite file take turns through a gate that wakes the next at once, instead of
# sleeping in SQLite's busy handler (vendorrisk/sqlite_writes.py). Inherited by the workers.
os.environ.setdefault("VENDORRISK_SQLITE_WRITE_GATE", "true")

wsgi_app = "vendorrisk:create_app()"
bind = ["127.0.0.1:5000"]
worker_class = os.environ.get("VENDORRISK_WORKER_CLASS", "gthread")
workers = _env_int("VENDORRISK_WORKERS", max(1, min(os.cpu_count() or 1, 8)))
threads = _env_int("VENDORRISK_THREADS", 4)
# A gthread worker's main loop stops answering the master only when the whole process hangs; a
# runaway render is bounded by the render watchdog (RENDER_TIMEOUT) instead.
timeout = _env_int("VENDORRISK_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (memory held by fonts and PDF rendering), not all at once.
max_requests = _env_int("VENDORRISK_MAX_REQUESTS", 1000)
max_requests_jitter = max(1, max_requests // 10) if max_requests else 0
forwarded_allow_ips = ""  # X-Forwarded-* are trusted only through the app's PROXY_FIX
control_socket_disable = True  # gunicornc is not used; one shared socket path would clash between servers
errorlog = "-"
loglevel = os.environ.get("VENDORRISK_LOG_LEVEL", "info")


def on_starting(server: Any) -> None:
    """Mask contractor tokens in gunicorn's access and error logs (master and, inherited, workers)."""
    from vendorrisk import logging_filters

    logging_filters.install()


def when_ready(server: Any) -> None:
    """Before the workers start: tell them the address served on (the base URL of links when
    VENDORRISK_BASE_URL is unset) and report a BASE_URL that does not match it."""
    from vendorrisk.serving import served_url

    addresses = [served_url(listener.sock.getsockname()) for listener in server.LISTENERS]
    if addresses:
        os.environ["VENDORRISK_SERVED_URL"] = addresses[0]  # inherited by the workers
    # Rate limits counted in each process (no Redis): every worker takes 1/N of each budget.
    os.environ["VENDORRISK_RATELIMIT_WORKERS"] = str(server.cfg.workers)
    from vendorrisk import create_app
    from vendorrisk.serving import base_url_warning, public_base_url

    app = create_app()  # fails fast (no SECRET_KEY …) before any worker starts
    server.log.info("vendorrisk: serving on %s; invitation links start with %s",
                    ", ".join(addresses), public_base_url(app.config))
    warning = base_url_warning(app.config)
    if warning:
        server.log.warning("vendorrisk: %s", warning)
    _sweep_evidence(server, app)


def _sweep_evidence(server: Any, app: Any) -> None:
    """Files a crash (a killed worker, a power loss) left without their row go before anyone is served."""
    from vendorrisk.extensions import db
    from vendorrisk.serving import sweep_evidence

    try:
        report = sweep_evidence(app)
    except Exception:  # an unmigrated database must not stop the server; /healthz reports it
        logging.getLogger("vendorrisk").exception("evidence sweep failed")
        return
    finally:
        with app.app_context():
            db.engine.dispose()  # no database connection of the arbiter's is carried into the forked workers
    server.log.info("vendorrisk: evidence sweep removed %d file(s) no row names (%d too recent to tell)",
                    len(report.removed), report.kept_young)


def post_worker_init(worker: Any) -> None:
    """Warm the annex renderer (fonts, stylesheets, templates) before the first request, and put it
    under the per-process render lock with a time limit."""
    import time

    from vendorrisk import logging_filters
    from vendorrisk.serving import install_render_lock

    logging_filters.install()

    started = time.monotonic()
    try:
        from vendorrisk.services.annexes import renderer

        annex_renderer = renderer()
        config = getattr(getattr(worker, "wsgi", None), "config", {})
        install_render_lock(annex_renderer, timeout=float(config.get("RENDER_TIMEOUT") or 60))
        annex_renderer.warm_up()
        worker.log.info("vendorrisk: annex renderer warmed in %.1f s", time.monotonic() - started)
    except Exception:  # the fonts may be missing: the worker still serves; /healthz says what is wrong
        logging.getLogger("vendorrisk").exception("annex renderer warm-up failed")
        worker.log.warning("vendorrisk: annex renderer warm-up failed (see /healthz)")
