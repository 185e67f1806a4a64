"""One table of (method, url, who) → status over every route: anonymous, a contractor token, each
staff role, and an admin of another organisation."""

from __future__ import annotations

import pytest
from conftest import approve_through_services
from sqlalchemy import select

from vendorrisk.extensions import db
from vendorrisk.models import Annex, Engagement
from vendorrisk.services.definitions import invitation_questionnaires
from vendorrisk.services.invitations import send_invitation

ACTORS = ("anonymous", "token", "admin", "procurement", "reviewer", "legal", "other_org_admin")
STAFF = ("admin", "procurement", "reviewer", "legal")


@pytest.fixture
def world(app, seed):
    """tamana-city: the outsourcing engagement approved with an annex; the cloud one invited (open)."""
    eid = approve_through_services(app, seed)
    with app.app_context():
        cloud = db.session.get(Engagement, seed.engagements[("tamana-city", "cloud")])
        sent = send_invitation(cloud, recipient_email="c@example.jp")
        inv = sent.invitation
        first_q = invitation_questionnaires(inv)[0]
        section = first_q.applicable(cloud.profile())[0].section_id
        social = db.session.get(Engagement, seed.engagements[("tamana-city", "social_media")])
        to_revoke = send_invitation(social, recipient_email="s@example.jp").invitation
        db.session.commit()
        annex = db.session.scalar(select(Annex))
        return {
            "eid": eid,
            "cloud": cloud.id,
            "annex": annex.id,
            "inv": to_revoke.id,
            "token": sent.token,
            "q": first_q.id,
            "s": section,
        }


def _routes(w):
    staff_all = {a: 200 for a in STAFF} | {"anonymous": 302, "token": 302, "other_org_admin": 200}
    procurement = {
        "admin": 200,
        "procurement": 200,
        "reviewer": 403,
        "legal": 403,
        "anonymous": 302,
        "token": 302,
        "other_org_admin": 200,
    }
    legal = {"admin": 200, "legal": 200, "procurement": 403, "reviewer": 403, "anonymous": 302, "token": 302}
    mine = lambda ok, **kw: {"anonymous": 302, "token": 302, "other_org_admin": 404, **{a: ok for a in STAFF}, **kw}  # noqa: E731
    return [
        ("GET", "/staff/", staff_all),
        ("GET", "/staff/trace", staff_all),
        ("GET", "/staff/vendors", procurement),
        ("GET", "/staff/vendors/new", procurement),
        ("GET", "/staff/engagements/new", procurement),
        ("GET", f"/staff/engagements/{w['eid']}", mine(200)),
        ("GET", f"/staff/engagements/{w['eid']}/review", mine(200, procurement=403, legal=403)),
        ("POST", f"/staff/engagements/{w['cloud']}/invite", mine(400, reviewer=403, legal=403)),
        ("POST", f"/staff/invitations/{w['inv']}/revoke", mine(302, reviewer=403, legal=403)),
        ("GET", "/legal/", legal | {"other_org_admin": 200}),
        ("POST", f"/legal/engagements/{w['eid']}/annex", mine(302, procurement=403, reviewer=403)),
        ("GET", f"/legal/annexes/{w['annex']}.pdf", mine(200, procurement=403, reviewer=403)),
        ("GET", f"/legal/annexes/{w['annex']}.docx", mine(200, procurement=403, reviewer=403)),
        ("GET", f"/legal/annexes/{w['annex']}/compare/{w['annex']}", mine(200, procurement=403, reviewer=403)),
        (
            "GET",
            "/admin/articles",
            {
                "admin": 200,
                "procurement": 403,
                "reviewer": 403,
                "legal": 403,
                "anonymous": 302,
                "token": 302,
                "other_org_admin": 200,
            },
        ),
        (
            "GET",
            "/admin/articles/confidentiality",
            {"admin": 200, "procurement": 403, "reviewer": 403, "legal": 403, "anonymous": 302, "token": 302},
        ),
        (
            "POST",
            "/admin/articles/confidentiality/reset",
            {"procurement": 403, "reviewer": 403, "legal": 403, "anonymous": 302, "token": 302},
        ),
        (
            "GET",
            "/admin/organisation",
            {
                "admin": 200,
                "procurement": 403,
                "reviewer": 403,
                "legal": 403,
                "anonymous": 302,
                "token": 302,
                "other_org_admin": 200,
            },
        ),
        (
            "POST",
            "/admin/policy",
            {
                "admin": 400,
                "procurement": 403,
                "reviewer": 403,
                "legal": 403,
                "anonymous": 302,
                "token": 302,
                "other_org_admin": 400,
            },
        ),
        (
            "POST",
            "/admin/officers",
            {
                "admin": 400,
                "procurement": 403,
                "reviewer": 403,
                "legal": 403,
                "anonymous": 302,
                "token": 302,
                "other_org_admin": 400,
            },
        ),
        (
            "POST",
            "/admin/users",
            {
                "admin": 400,
                "procurement": 403,
                "reviewer": 403,
                "legal": 403,
                "anonymous": 302,
                "token": 302,
                "other_org_admin": 400,
            },
        ),
        # The portal: only the token opens it; staff logins give no access to it without the token.
        ("GET", "/r/{token}/", {a: 200 for a in ACTORS}),
        ("GET", "/r/{token}/check", {a: 200 for a in ACTORS}),
        ("GET", "/r/{token}/s/" + f"{w['q']}/{w['s']}", {a: 200 for a in ACTORS}),
        ("GET", "/r/" + "x" * 43 + "/", {a: 404 for a in ACTORS}),
        ("GET", "/r/" + "x" * 43 + "/check", {a: 404 for a in ACTORS}),
        ("POST", "/r/" + "x" * 43 + "/submit", {a: 404 for a in ACTORS}),
    ]


def test_access_matrix(app, seed, world, password_hash):
    emails = dict(seed.users)
    failures = []
    clients = {}
    for actor in ACTORS:
        clients[actor] = app.test_client()
        if actor in emails:
            assert (
                clients[actor]
                .post("/login", data={"email": emails[actor], "password": "correct-horse-battery-2026"})
                .status_code
                == 302
            )
    for method, url, expected in _routes(world):
        for actor in ACTORS:
            if actor not in expected:
                continue
            client = clients[actor]
            target = url.replace("{token}", world["token"])
            response = client.open(target, method=method, data={})
            if response.status_code != expected[actor]:
                failures.append(f"{method} {target} as {actor}: {response.status_code}, expected {expected[actor]}")
            if response.status_code == 302 and actor in ("anonymous", "token") and not target.startswith("/r/"):
                assert "/login" in response.headers["Location"]
    assert not failures, "\n".join(failures)


def test_other_organisation_sees_none_of_our_data(app, seed, world, login, client):
    login(seed.users["other_org_admin"])
    dashboard = client.get("/staff/").get_data(as_text=True)
    assert "青梅市" in dashboard
    legal = client.get("/legal/").get_data(as_text=True)
    assert "玉名市" not in dashboard + legal
