"""Rate limits that hold across gunicorn workers (Redis storage), token guessing limited per address
and for the whole server, and contractor tokens kept out of every log line."""

from __future__ import annotations

import email
import logging
import re
import uuid
from collections.abc import Iterator
from email import policy as email_policy
from pathlib import Path

import pytest
from conftest import TEST_PASSWORD, make_app
from test_serving import Served, _browser, _csrf, _get, _open, _post, _start, _stop

from vendorrisk.logging_filters import TokenMaskingFilter, mask_tokens

REDIS = "redis://127.0.0.1:6379/0"
WRONG_TOKEN = "x" * 43


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS, socket_timeout=2).ping())
    except Exception:
        return False


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, password_hash: str) -> Iterator[Served]:
    """`make serve-prod`'s storage: two workers sharing one Redis for the limits; access log on."""
    if not _redis_answers():
        pytest.skip("Redis at 127.0.0.1:6379 does not answer")
    served = _start(
        tmp_path_factory.mktemp("gunicorn-redis"), sqlite_template, password_hash,
        VENDORRISK_WORKERS="2",
        VENDORRISK_RATELIMIT_STORAGE_URI=REDIS,
        VENDORRISK_RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",  # a fresh budget for this run
        VENDORRISK_LOGIN_RATE_LIMIT="10 per hour",
        VENDORRISK_TOKEN_GUESS_RATE_LIMIT="6 per hour",
        GUNICORN_CMD_ARGS="--access-logfile -",
    )
    yield served
    _stop(served)


def _invite(served: Served) -> str:
    browser = _browser()
    login = {"csrf_token": _csrf(_open(browser, f"{served.url}/login").text()),
             "email": served.seed.users["procurement"], "password": TEST_PASSWORD}
    assert _post(browser, f"{served.url}/login", login).status == 200
    eid = served.seed.engagements[("tamana-city", "outsourcing")]
    page = _open(browser, f"{served.url}/staff/engagements/{eid}").text()
    assert _post(browser, f"{served.url}/staff/engagements/{eid}/invite",
                 {"csrf_token": _csrf(page), "recipient_email": "a@example.jp"}).status == 200
    mail = sorted((served.instance / "outbox").glob("*.eml"))[-1]
    body = email.message_from_bytes(mail.read_bytes(), policy=email_policy.default).get_body(("plain",))
    return re.search(r"/r/([A-Za-z0-9_\-]+)", body.get_content()).group(1)  # type: ignore[union-attr]


def test_limits_hold_across_workers_and_tokens_never_reach_the_log(workers):
    token = _invite(workers)
    assert _get(f"{workers.url}/r/{token}/").status == 200
    assert _get(f"{workers.url}/r/{token}/check?lang=ja").status == 200

    # Wrong passwords: with two workers each counting on its own, up to 20 would get through; one
    # budget of 10 (the procurement login above took one) refuses the last 5 of 14.
    codes = []
    for _ in range(14):
        browser = _browser()
        form = {"csrf_token": _csrf(_open(browser, f"{workers.url}/login").text()),
                "email": "nobody@example.jp", "password": "wrong-password-123"}
        codes.append(_post(browser, f"{workers.url}/login", form).status)
    assert codes.count(429) == 5 and 429 not in codes[:9], codes

    # Guessing tokens: six wrong ones are 404, then every /r/ address from here is refused,
    # a right token too (so a guess that hits tells nothing).
    guesses = [_get(f"{workers.url}/r/{WRONG_TOKEN[:-2]}{i:02d}/").status for i in range(9)]
    assert guesses == [404] * 6 + [429] * 3
    refused = _get(f"{workers.url}/r/{token}/")
    assert refused.status == 429 and "しばらく待ってから" in refused.text()
    assert _get(f"{workers.url}/login").status == 200  # staff pages are not part of that budget

    log = workers.log.read_text(errors="replace")
    assert '"GET /r/[token]/ HTTP/1.1" 200' in log  # the access log is on and masked
    assert token not in log
    assert WRONG_TOKEN[:-2] not in log


@pytest.fixture(scope="module")
def memory_workers(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path,
                   password_hash: str) -> Iterator[Served]:
    """`make run`'s storage on a laptop: two workers, limits counted in each process, no Redis."""
    served = _start(
        tmp_path_factory.mktemp("gunicorn-memory"), sqlite_template, password_hash,
        VENDORRISK_WORKERS="2", VENDORRISK_RATELIMIT_STORAGE_URI="memory://", REDIS_URL="",
        VENDORRISK_LOGIN_RATE_LIMIT="10 per hour",
    )
    yield served
    _stop(served)


def test_in_process_limits_are_shared_out_between_workers(memory_workers):
    """Each of the 2 workers counts alone, so each gets half of the budget of 10: 14 wrong
    passwords are refused at least 4 times (not ~20 let through), and the first 5 always pass."""
    codes = []
    for _ in range(14):
        browser = _browser()  # a new connection each time: the requests spread over both workers
        form = {"csrf_token": _csrf(_open(browser, f"{memory_workers.url}/login").text()),
                "email": "nobody@example.jp", "password": "wrong-password-123"}
        codes.append(_post(browser, f"{memory_workers.url}/login", form).status)
    assert codes.count(429) >= 4 and 429 not in codes[:5], codes
    assert set(codes) <= {200, 429}, codes


def test_behind_a_proxy_each_forwarded_client_has_its_own_budget(backend, tmp_path, request):
    """VENDORRISK_PROXY_FIX=1: the client is the X-Forwarded-For address, so one client spending its
    token-guess and login budgets does not refuse another behind the same proxy."""
    app = make_app(backend, tmp_path / "proxy", request, RATELIMIT_ENABLED=True, PROXY_FIX=1,
                   TOKEN_GUESS_RATE_LIMIT="3 per minute", TOKEN_GUESS_GLOBAL_LIMIT="100 per minute",
                   LOGIN_RATE_LIMIT="3 per minute", RATELIMIT_KEY_PREFIX=f"proxy-{uuid.uuid4().hex}")
    client = app.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}  # every request comes from the proxy itself

    def via(address: str) -> dict[str, str]:
        return {"X-Forwarded-For": address}

    guesses = [client.get(f"/r/{WRONG_TOKEN}/", headers=via("198.51.100.7"), environ_base=proxy).status_code
               for _ in range(4)]
    assert guesses == [404, 404, 404, 429]
    assert client.get(f"/r/{WRONG_TOKEN}/", headers=via("198.51.100.8"), environ_base=proxy).status_code == 404
    wrong = {"email": "nobody@example.jp", "password": "wrong-password-123"}
    logins = [client.post("/login", data=wrong, headers=via("203.0.113.5"), environ_base=proxy).status_code
              for _ in range(4)]
    assert logins == [200, 200, 200, 429]
    r = client.post("/login", data=wrong, headers=via("203.0.113.6"), environ_base=proxy)
    assert r.status_code == 200 and "メールアドレスまたはパスワードが正しくありません" in r.get_data(as_text=True)


def test_token_guessing_is_limited_per_address_and_globally(backend, tmp_path, request):
    app = make_app(backend, tmp_path / "rl", request, RATELIMIT_ENABLED=True,
                   TOKEN_GUESS_RATE_LIMIT="3 per minute", TOKEN_GUESS_GLOBAL_LIMIT="5 per minute")
    client = app.test_client()
    one = {"REMOTE_ADDR": "192.0.2.1"}
    codes = [client.get(f"/r/{WRONG_TOKEN}/", environ_base=one).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    assert client.post(f"/r/{WRONG_TOKEN}/submit", environ_base=one).status_code == 429
    # Another address still has its own budget, until the server-wide one is spent.
    other = [client.get(f"/r/{WRONG_TOKEN}/", environ_base={"REMOTE_ADDR": f"192.0.2.{i}"}).status_code
             for i in (2, 3, 4)]
    assert other == [404, 404, 429]
    assert client.get("/login", environ_base=one).status_code == 200


def test_the_masking_filter_covers_messages_arguments_and_tracebacks():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s',
                               ("127.0.0.1", "GET /r/AbC_d-9/s/q1/s1?x=1 HTTP/1.1", 200), None)
    TokenMaskingFilter().filter(record)
    assert record.getMessage() == '127.0.0.1 - - "GET /r/[token]/s/q1/s1?x=1 HTTP/1.1" 200'
    atoms = {"r": "POST /r/SeCrEt/submit HTTP/1.1", "U": "/r/SeCrEt/submit", "s": "302"}
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, '"%(r)s" %(s)s', (atoms,), None)
    TokenMaskingFilter().filter(record)
    assert "SeCrEt" not in record.getMessage() and "SeCrEt" not in str(record.args)
    try:
        raise ValueError("while opening /r/SeCrEt/")
    except ValueError:
        import sys

        record = logging.LogRecord("vendorrisk", logging.ERROR, __file__, 1, "failed at %s", ("/r/SeCrEt/",),
                                   sys.exc_info())
    TokenMaskingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "SeCrEt" not in formatted and "/r/[token]/" in formatted
    assert mask_tokens("/static/app.css /r/") == "/static/app.css /r/"


def test_rate_limits_count_in_redis_when_redis_is_configured(monkeypatch):
    from flask import Config

    from vendorrisk import config

    def storage() -> str:
        loaded = Config(".")
        loaded.from_mapping(config.DEFAULTS)
        config.apply_environment(loaded)
        return str(loaded["RATELIMIT_STORAGE_URI"])

    assert storage() == "memory://"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/5")
    assert storage() == "redis://127.0.0.1:6379/5"
    monkeypatch.setenv("VENDORRISK_RATELIMIT_STORAGE_URI", "memory://")
    assert storage() == "memory://"


def test_token_guess_budgets_are_kept_apart_by_the_key_prefix(backend, tmp_path, request):
    """Two deployments sharing one Redis (each with its own RATELIMIT_KEY_PREFIX): guesses spent
    against one never refuse the other's contractors."""
    if not _redis_answers():
        pytest.skip("Redis at 127.0.0.1:6379 does not answer")
    apps = [make_app(backend, tmp_path / name, request, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS,
                     RATELIMIT_KEY_PREFIX=f"{name}-{uuid.uuid4().hex}",
                     TOKEN_GUESS_RATE_LIMIT="2 per hour", TOKEN_GUESS_GLOBAL_LIMIT="2 per hour")
            for name in ("one", "two")]
    first, second = (app.test_client() for app in apps)
    assert [first.get(f"/r/{WRONG_TOKEN}/").status_code for _ in range(3)] == [404, 404, 429]
    assert second.get(f"/r/{WRONG_TOKEN}/").status_code == 404
