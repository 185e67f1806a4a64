"""Staff sessions as an auditor tests them: logout and password change end them on the server, the
cookie is Secure over HTTPS, the CSRF token changes at login, pages are not cached, `next=` is safe."""

from __future__ import annotations

import re

import pytest
from conftest import TEST_PASSWORD, approve_through_services, make_app
from sqlalchemy import select

from vendorrisk.extensions import db
from vendorrisk.models import Annex, AuditEvent

HTTPS = {"X-Forwarded-Proto": "https"}


def _change(client, current: str, new: str, confirm: str | None = None):
    data = {"current_password": current, "new_password": new, "confirm_password": new if confirm is None else confirm}
    return client.post("/account/password", data=data)


def _login(client, email: str, password: str = TEST_PASSWORD, **kwargs):
    return client.post("/login", data={"email": email, "password": password}, **kwargs)


def _session_cookie(client, name: str = "session") -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"the browser holds a {name} cookie"
    return cookie.value


def _replay(app, value: str, name: str = "session"):
    """Another browser (an attacker, a shared PC's next user) presenting a copied cookie."""
    other = app.test_client()
    other.set_cookie(name, value)
    return other


def test_logout_ends_the_session_on_the_server(app, client, seed, login):
    assert login(seed.users["procurement"]).status_code == 302
    copied = _session_cookie(client)
    assert _replay(app, copied).get("/staff/").status_code == 200  # the copy works while logged in
    r = client.post("/logout")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    stale = _replay(app, copied).get("/staff/")
    assert stale.status_code == 302 and "/login" in stale.headers["Location"]  # 案件一覧 no longer opens
    # Logging in again works and gives a session that does open it.
    assert login(seed.users["procurement"]).status_code == 302
    assert client.get("/staff/").status_code == 200


def test_password_change_ends_every_other_session(app, client, seed, login):
    user = seed.users["reviewer"]
    other_pc = app.test_client()
    assert other_pc.post("/login", data={"email": user, "password": TEST_PASSWORD}).status_code == 302
    assert login(user).status_code == 302
    copied = _session_cookie(client)

    page = client.get("/account/password")
    assert page.status_code == 200 and "パスワードの変更" in page.get_data(as_text=True)
    new = "a-new-password-for-2027"
    r = _change(client, TEST_PASSWORD, new)
    assert r.status_code == 302
    assert "パスワードを変更しました" in client.get("/staff/").get_data(as_text=True)  # this browser stays in
    assert other_pc.get("/staff/").status_code == 302  # the other one is logged out
    assert _replay(app, copied).get("/staff/").status_code == 302  # so is the cookie from before the change
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": user, "password": TEST_PASSWORD}).status_code == 200  # old one refused
    assert fresh.post("/login", data={"email": user, "password": new}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).filter_by(action="user.password_changed")) is not None


def test_password_change_refuses_a_wrong_current_password_and_keeps_the_session(app, client, seed, login):
    login(seed.users["legal"])
    r = _change(client, "wrong-password-0000", "another-password-2027")
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "現在のパスワードが正しくありません" in body
    r = _change(client, TEST_PASSWORD, "short", "short2")
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "12文字以上" in body and "一致しません" in body
    assert client.get("/staff/").status_code == 200
    assert _login(app.test_client(), seed.users["legal"]).status_code == 302


def test_the_session_cookie_is_secure_and_host_prefixed_over_https(seed_for_proxy):
    app = seed_for_proxy
    client = app.test_client()
    r = client.post("/login", headers=HTTPS, data={"email": "procurement@tamana.test", "password": TEST_PASSWORD})
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "Secure" in cookie
    assert "Path=/" in cookie and "Domain=" not in cookie
    assert client.get("/staff/", headers=HTTPS).status_code == 200  # the __Host- cookie is read back
    # The same browser over plain HTTP has no session (the Secure cookie is never sent there).
    assert client.get_cookie("session") is None


@pytest.fixture
def seed_for_proxy(backend, tmp_path, request, password_hash):
    from conftest import seed_data

    app = make_app(backend, tmp_path, request, PROXY_FIX=1)
    seed_data(app, password_hash)
    return app


def test_session_cookie_secure_setting_forces_secure_over_plain_http(app, seed):
    app.config["SESSION_COOKIE_SECURE"] = True
    r = app.test_client().post("/login", data={"email": seed.users["admin"], "password": TEST_PASSWORD})
    assert r.status_code == 302 and "Secure" in r.headers["Set-Cookie"]


def _form_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_csrf_token_changes_at_login(backend, tmp_path, request, password_hash):
    from conftest import seed_data

    app = make_app(backend, tmp_path, request, WTF_CSRF_ENABLED=True)
    seed = seed_data(app, password_hash)
    client = app.test_client()
    before = _form_token(client.get("/login").get_data(as_text=True))  # e.g. planted by an attacker
    with client.session_transaction() as s:
        raw_before = s["csrf_token"]
    r = client.post("/login", data={"csrf_token": before, "email": seed.users["procurement"],
                                    "password": TEST_PASSWORD})
    assert r.status_code == 302
    with client.session_transaction() as s:
        assert s.get("csrf_token") != raw_before
    after = _form_token(client.get("/staff/").get_data(as_text=True))
    assert after != before
    # The pre-login token no longer carries a POST; the new one does.
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400
    assert client.post("/logout", data={"csrf_token": after}).status_code == 302


def test_staff_pages_and_downloads_are_never_cached(app, client, seed, login):
    eid = approve_through_services(app, seed)
    with app.app_context():
        annex_id = db.session.scalar(select(Annex.id))
    login(seed.users["admin"])
    for url in ("/staff/", f"/staff/engagements/{eid}", f"/staff/engagements/{eid}/review", "/staff/vendors",
                "/admin/organisation", "/legal/", f"/legal/annexes/{annex_id}.pdf", f"/legal/annexes/{annex_id}.docx"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.headers["Cache-Control"] == "no-store", url


@pytest.mark.parametrize("target", ["/staff/\r\nSet-Cookie: x=1", "/staff/\nLocation: https://evil.example",
                                    "/\\evil.example", "/\\/evil.example", "https://evil.example/", "//evil.example"])
def test_next_with_line_breaks_or_another_site_gives_a_safe_redirect(app, client, seed, target):
    r = _login(client, seed.users["admin"], query_string={"next": target})
    assert r.status_code == 302
    assert r.headers["Location"] == "/staff/"


def test_next_to_a_page_of_this_site_is_followed(app, client, seed):
    r = _login(client, seed.users["admin"], query_string={"next": "/staff/vendors?page=2"})
    assert r.status_code == 302 and r.headers["Location"] == "/staff/vendors?page=2"
