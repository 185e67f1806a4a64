"""Security headers on every page: every GET route in the URL map, with real ids and tokens, as an
anonymous visitor and as a logged-in user, over HTTP and (through a trusted proxy) over HTTPS.
A route added without values here fails the test."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from conftest import TEST_PASSWORD, approve_through_services, make_app, seed_data
from helpers import form_data_for, portal_sections
from sqlalchemy import select
from weasyprint import HTML

from vendorrisk.extensions import db
from vendorrisk.models import Annex, Engagement, Evidence
from vendorrisk.services import invitations
from vendorrisk.web.answer_forms import field_name

HTTPS = {"X-Forwarded-Proto": "https"}
REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin-when-cross-origin"}


@pytest.fixture
def site(backend, tmp_path, request, password_hash) -> dict[str, Any]:
    """The app behind one trusted proxy, with an approved engagement and its annex, an open invitation
    with an evidence file attached, and the values every route argument takes."""
    app = make_app(backend, tmp_path, request, PROXY_FIX=1)
    seed = seed_data(app, password_hash)
    eid = approve_through_services(app, seed)
    with app.app_context():
        engagement = db.session.get(Engagement, seed.engagements[("tamana-city", "cloud")])
        sent = invitations.send_invitation(engagement, recipient_email="c@example.jp")
        token, invitation_id = sent.token, sent.invitation.id
        vendor_id = engagement.vendor_id
        db.session.commit()
    qid, sid, questions, file_question = next(
        (q, s, qs, f) for q, s, qs in portal_sections(app, token) for f in qs if f.type == "file")
    data = form_data_for(questions)
    data[field_name(file_question.id)] = (io.BytesIO(HTML(string="<p>ISMS</p>").write_pdf()), "ISMS.pdf")
    r = app.test_client().post(f"/r/{token}/s/{qid}/{sid}", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    with app.app_context():
        values = {
            "engagement_id": eid, "annex_id": db.session.scalar(select(Annex.id)),
            "evidence_id": db.session.scalar(select(Evidence.id)),
            "token": token, "qid": qid, "section_id": sid, "key": "confidentiality", "filename": "app.css",
            "what": "engagements", "fmt": "csv", "vendor_id": vendor_id, "edition_id": 1, "kind": "invitation",
            "invitation_id": invitation_id,
        }
    values["other_id"] = values["annex_id"]
    return {"app": app, "seed": seed, "values": values}


def _get_urls(app, values: dict[str, Any]) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        missing = set(rule.arguments) - set(values)
        assert not missing, f"{rule.rule}: add a value for {sorted(missing)} to this test"
        urls.append(rule.build({a: values[a] for a in rule.arguments}, append_unknown=False)[1])
    return urls


def _csp(value: str) -> dict[str, str]:
    return {d.split()[0]: " ".join(d.split()[1:]) for d in (x.strip() for x in value.split(";")) if d}


def _csp_problems(value: str) -> list[str]:
    out = ["CSP allows inline code"] if "unsafe-inline" in value or "unsafe-eval" in value else []
    csp = _csp(value)
    expected = {"script-src": "'self'", "style-src": "'self'", "frame-ancestors": "'none'", "default-src": "'self'"}
    out += [f"CSP {d} is {csp.get(d)!r}" for d, v in expected.items() if csp.get(d) != v]
    return out


def _transport_problems(url: str, h: Any, https: bool) -> list[str]:
    out = []
    policy = h.get("Referrer-Policy")
    if url.startswith("/r/") and policy != "no-referrer":
        out.append(f"token page Referrer-Policy {policy!r}")
    elif policy not in REFERRER_POLICIES:
        out.append(f"Referrer-Policy {policy!r}")
    if not url.startswith("/static/") and h.get("Cache-Control") != "no-store":
        out.append(f"Cache-Control {h.get('Cache-Control')!r}")
    hsts = h.get("Strict-Transport-Security", "")
    if https and not re.fullmatch(r"max-age=\d{7,}.*", hsts):
        out.append(f"HSTS {hsts!r} over HTTPS")
    if not https and hsts:
        out.append("HSTS over plain HTTP")
    return out


INLINE = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>|<style[\s>]|\sstyle=|\son[a-z]+=")


def _problems(url: str, r: Any, *, https: bool) -> list[str]:
    out = [f"status {r.status_code}"] if r.status_code >= 500 else []
    out += _csp_problems(r.headers.get("Content-Security-Policy", ""))
    if r.headers.get("X-Content-Type-Options") != "nosniff":
        out.append("no X-Content-Type-Options: nosniff")
    out += _transport_problems(url, r.headers, https)
    if r.mimetype == "text/html" and INLINE.search(r.get_data(as_text=True)):
        out.append("inline script or style the CSP blocks")
    return [f"{url}: {p}" for p in out]


def _clients(app, seed, headers: dict[str, str]) -> dict[str, Any]:
    anonymous = app.test_client()
    staff = app.test_client()
    r = staff.post("/login", headers=headers, data={"email": seed.users["admin"], "password": TEST_PASSWORD})
    assert r.status_code == 302
    return {"anonymous": anonymous, "admin": staff}


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_every_page_sends_the_security_headers(site, https):
    app, seed, values = site["app"], site["seed"], site["values"]
    headers = HTTPS if https else {}
    urls = _get_urls(app, values)
    assert len(urls) >= 20 and "/healthz" in urls and f"/r/{values['token']}/" in urls
    problems: list[str] = []
    statuses = {}
    for who, client in _clients(app, seed, headers).items():
        for url in urls:
            r = client.get(url, headers=headers)
            statuses[(who, url)] = r.status_code
            problems += [f"{who} {p}" for p in _problems(url, r, https=https)]
            r.close()
    assert not problems, "\n".join(problems)
    # The logged-in run really saw the staff pages (not only redirects to the login page).
    assert statuses[("admin", "/staff/")] == 200
    assert statuses[("admin", f"/legal/annexes/{values['annex_id']}.pdf")] == 200
    assert statuses[("anonymous", "/staff/")] == 302


def test_forwarded_proto_is_ignored_without_a_trusted_proxy(app, client, seed):
    """No PROXY_FIX (make run): anyone can send X-Forwarded-Proto, so it changes nothing."""
    r = client.post("/login", headers=HTTPS, data={"email": seed.users["admin"], "password": TEST_PASSWORD})
    assert "Strict-Transport-Security" not in r.headers
    assert r.headers["Set-Cookie"].startswith("session=") and "Secure" not in r.headers["Set-Cookie"]
