"""Serving as `make run` / `make serve-prod` do: a real gunicorn on a loopback port with the project's
config (vendorrisk/gunicorn_conf.py), on a temporary instance folder."""

from __future__ import annotations

import email
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy as email_policy
from pathlib import Path
from typing import Any

import pytest
from conftest import BASE_CONFIG, TEST_PASSWORD, seed_data

from vendorrisk import create_app
from vendorrisk.extensions import db
from vendorrisk.migrate import upgrade
from vendorrisk.serving import install_render_lock

GUNICORN_CONF = Path(__file__).resolve().parent.parent / "vendorrisk" / "gunicorn_conf.py"
GENEROUS = 10  # seconds: "answered at all", not a timing assertion


@dataclass
class Served:
    url: str
    port: int
    instance: Path
    seed: Any
    log: Path
    process: subprocess.Popen[bytes]
    log_file: Any
    env: dict[str, str] = field(default_factory=dict)
    database_url: str | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes
    url: str

    def text(self) -> str:
        return self.body.decode()


def _read(open_: Any) -> Answer:
    try:
        response = open_()
    except urllib.error.HTTPError as exc:
        response = exc
    with response:
        return Answer(response.status, response.headers, response.read(), response.url)


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = GENEROUS) -> Answer:
    return _read(lambda: urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout))


def _start(tmp: Path, sqlite_template: Path, password_hash: str, *, database_url: str | None = None,
           **env: str) -> Served:
    """A seeded instance served by gunicorn: its own SQLite file from the template, or the (empty)
    PostgreSQL database at `database_url`, migrated and seeded here."""
    instance = tmp / "instance"
    instance.mkdir(parents=True)
    (instance / "config.py").write_text('SECRET_KEY = "serving-test-secret"\n', encoding="utf-8")
    config = {k: v for k, v in BASE_CONFIG.items() if k != "BASE_URL"}
    if database_url:
        config["DATABASE_URL"] = database_url
        env = {**env, "DATABASE_URL": database_url}
    else:
        shutil.copy(sqlite_template, instance / "vendorrisk.db")
    seeding = create_app(config, instance_path=instance)
    if database_url:
        upgrade(seeding)
    seed = seed_data(seeding, password_hash)
    with seeding.app_context():
        db.engine.dispose()
    # Each server counts its rate limits under its own prefix: Redis outlives test runs, and a
    # budget spent by an earlier server (or an earlier run) must not refuse this one's requests.
    env = {"VENDORRISK_WORKERS": "1", "VENDORRISK_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}", **env}
    return _serve(tmp, instance, seed, env, database_url)


def _serve(tmp: Path, instance: Path, seed: Any, env: dict[str, str], database_url: str | None = None,
           log_name: str = "gunicorn.log") -> Served:
    port = _free_port()
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("VENDORRISK_", "GUNICORN_")) and k != "DATABASE_URL"}
    environ.update({"VENDORRISK_INSTANCE": str(instance), **env})
    log = tmp / log_name
    log_file = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{port}",
         "vendorrisk:create_app()"],
        env=environ, cwd=tmp, stdout=log_file, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    served = Served(url=url, port=port, instance=instance, seed=seed, log=log, process=process, log_file=log_file,
                    env=env, database_url=database_url)
    for _ in range(240):  # up to ~60 s on a busy machine (boot + renderer warm-up)
        try:
            if process.poll() is not None:
                break
            if _get(f"{url}/healthz", timeout=2).status in (200, 503) and "warmed" in log.read_text():
                return served
        except OSError:
            pass
        threading.Event().wait(0.25)
    _stop(served)
    raise AssertionError("gunicorn did not start:\n" + log.read_text()[-3000:])


def _restart(served: Served, log_name: str, **env: str) -> Served:
    """The same instance (and database) served again by a new gunicorn, with `env` added."""
    return _serve(served.log.parent, served.instance, served.seed, {**served.env, **env}, served.database_url,
                  log_name=log_name)


def _stop(served: Served) -> None:
    if served.process.poll() is None:
        served.process.terminate()
        try:
            served.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait()
    served.log_file.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, password_hash: str) -> Iterator[Served]:
    """`make run`'s set-up: no VENDORRISK_BASE_URL, no proxy in front."""
    served = _start(tmp_path_factory.mktemp("gunicorn"), sqlite_template, password_hash)
    yield served
    _stop(served)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, password_hash: str) -> Iterator[Served]:
    """`make serve-prod`'s set-up behind one proxy, with a BASE_URL that is not this server."""
    served = _start(tmp_path_factory.mktemp("gunicorn-proxied"), sqlite_template, password_hash,
                    VENDORRISK_PROXY_FIX="1", VENDORRISK_SESSION_COOKIE_SECURE="true",
                    VENDORRISK_BASE_URL="http://127.0.0.1:5000")
    yield served
    _stop(served)


def test_an_idle_connection_does_not_stall_another_request(server):
    """One worker (VENDORRISK_WORKERS=1): a connection that sends nothing, and one that stops in the
    middle of its headers, stay open while another person's page is answered."""
    idle = socket.create_connection(("127.0.0.1", server.port))
    slow = socket.create_connection(("127.0.0.1", server.port))
    try:
        slow.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(3):
            r = _get(f"{server.url}/login")
            assert r.status == 200 and "職員ログイン" in r.text()
    finally:
        idle.close()
        slow.close()
    text = server.log.read_text()
    assert "Using worker: gthread" in text and "Traceback" not in text


def test_healthz_reports_each_part(server):
    r = _get(f"{server.url}/healthz")
    assert r.status == 200 and r.headers["Content-Type"].startswith("application/json")
    report = json.loads(r.body)
    assert report["status"] == "ok"
    assert set(report["checks"]) == {"database", "redis", "fonts", "harfbuzz_subset"}
    assert all(check["ok"] for check in report["checks"].values())
    assert report["checks"]["fonts"]["detail"] == "NotoSerifCJK-Regular.ttc, NotoSerifCJK-Bold.ttc"


def test_workers_warm_the_annex_renderer_at_start(server):
    assert "annex renderer warmed" in server.log.read_text()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "the page carries a CSRF token"
    return match.group(1)


def _browser() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _post(opener: urllib.request.OpenerDirector, url: str, data: dict[str, str]) -> Answer:
    body = urllib.parse.urlencode(data).encode()
    return _read(lambda: opener.open(urllib.request.Request(url, data=body), timeout=60))


def _open(opener: urllib.request.OpenerDirector, url: str) -> Answer:
    return _read(lambda: opener.open(url, timeout=GENEROUS))


def test_invitation_links_use_the_port_served_on_when_base_url_is_unset(server):
    browser = _browser()
    token = _csrf(_open(browser, f"{server.url}/login").text())
    login = {"csrf_token": token, "email": server.seed.users["procurement"], "password": TEST_PASSWORD}
    r = _post(browser, f"{server.url}/login", login)
    assert r.status == 200 and r.url.endswith("/staff/")
    eid = server.seed.engagements[("tamana-city", "outsourcing")]
    page = _open(browser, f"{server.url}/staff/engagements/{eid}").text()
    invite = {"csrf_token": _csrf(page), "recipient_email": "a@example.jp"}
    r = _post(browser, f"{server.url}/staff/engagements/{eid}/invite", invite)
    shown = r.text()
    # Sending redirects (POST-redirect-GET) to the page that shows the link once; the browser followed it.
    assert r.status == 200 and r.url.endswith("/sent"), shown[:2000]
    link_prefix = f"http://127.0.0.1:{server.port}/r/"
    assert link_prefix in shown
    mails = sorted((server.instance / "outbox").glob("*.eml"))
    assert mails, "the invitation is in the outbox"
    message = email.message_from_bytes(mails[-1].read_bytes(), policy=email_policy.default)
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert link_prefix in body
    link = re.search(r"http://127\.0\.0\.1:\d+/r/[A-Za-z0-9_\-]+", body).group(0)  # type: ignore[union-attr]
    assert _get(link + "/").status == 200  # the mailed link opens the contractor's page on this server
    # The worker's writers took turns through the write gate (vendorrisk/sqlite_writes.py).
    assert (server.instance / "vendorrisk.db.write-lock").exists()


def test_behind_a_proxy_https_gives_secure_cookie_and_hsts(proxied):
    r = _get(f"{proxied.url}/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"})
    assert r.status == 200
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "; Secure" in cookie
    assert "Path=/" in cookie and "Domain" not in cookie
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    # The same server, reached without the proxy's header: no HSTS, but serve-prod's cookie is Secure anyway.
    r = _get(f"{proxied.url}/login")
    assert "Strict-Transport-Security" not in r.headers
    assert r.headers["Set-Cookie"].startswith("session=") and "; Secure" in r.headers["Set-Cookie"]


def test_without_proxy_fix_forwarded_headers_are_ignored(server):
    """`make run` trusts no proxy: anyone could send X-Forwarded-Proto."""
    r = _get(f"{server.url}/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in r.headers
    assert r.headers["Set-Cookie"].startswith("session=") and "Secure" not in r.headers["Set-Cookie"]


def test_a_base_url_that_is_not_the_served_address_is_reported_at_start(proxied):
    text = proxied.log.read_text()
    assert "VENDORRISK_BASE_URL = http://127.0.0.1:5000" in text and f"http://127.0.0.1:{proxied.port}" in text
    assert "一致しません" in text


def test_the_admin_page_shows_a_base_url_mismatch(app, client, seed, login):
    app.config.update(BASE_URL="http://127.0.0.1:5000", SERVED_URL="http://127.0.0.1:5050")
    login(seed.users["admin"])
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert "VENDORRISK_BASE_URL = http://127.0.0.1:5000" in page and "http://127.0.0.1:5050" in page
    app.config.update(BASE_URL="http://127.0.0.1:5050/")
    assert "一致しません" not in client.get("/admin/organisation").get_data(as_text=True)


def test_healthz_answers_503_when_redis_is_down(app):
    closed_port = _free_port()
    app.config.update(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.json["status"] == "fail"
    assert r.json["checks"]["redis"]["ok"] is False and r.json["checks"]["database"]["ok"] is True


def test_healthz_pings_the_real_redis_when_rate_limits_live_there(app):
    if not _redis_answers():
        pytest.skip("Redis does not answer at 127.0.0.1:6379")
    app.config.update(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379")
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and r.json["checks"]["redis"] == {"ok": True, "detail": "PONG"}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    missing = f"sqlite:///{tmp_path / 'missing' / 'no.db'}"
    broken = create_app({**BASE_CONFIG, "DATABASE_URL": missing}, instance_path=tmp_path)
    r = broken.test_client().get("/healthz")
    assert r.status_code == 503 and r.json["checks"]["database"]["ok"] is False


def _redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
        return True
    except OSError:
        return False


# -- The render lock gunicorn workers install -------------------------------------------------------

@pytest.fixture(scope="module")
def fresh_renderer() -> Any:
    from vendorrisk.adapters.pdf import AnnexRenderer

    return AnnexRenderer()


def test_one_render_at_a_time_per_process(fresh_renderer):
    install_render_lock(fresh_renderer, timeout=600)
    lock = fresh_renderer._vendorrisk_render_lock
    done = threading.Event()
    out: list[bytes] = []

    def render() -> None:
        out.append(fresh_renderer.pdf_from_html("<p>甲乙</p>"))
        done.set()

    with lock:  # another render is under way in this process
        worker = threading.Thread(target=render)
        worker.start()
        assert not done.wait(2), "a second render ran while the first held the renderer"
    worker.join(120)
    assert done.is_set() and out[0].startswith(b"%PDF")


def test_a_render_past_its_time_limit_ends_the_worker():
    from vendorrisk.adapters.pdf import AnnexRenderer

    renderer = AnnexRenderer()
    fired: list[float] = []
    install_render_lock(renderer, timeout=0.001, on_timeout=fired.append)
    renderer.pdf_from_html("<p>甲乙</p>" * 200)
    assert fired == [0.001]
