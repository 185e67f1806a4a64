"""The access matrix, generated from the URL map: every route and method × anonymous, a contractor
token, each staff role and an admin of another organisation → the status each must get.

`EXPECT` is keyed by endpoint and method; a route added to the app without an entry here (or an entry
left for a route that is gone) fails `test_every_route_has_an_entry`, and each entry is checked by
`test_access_matrix`. Ids in URLs are those of real rows of tamana-city (so the other organisation's
admin must get 404, not somebody else's data); POSTs carry an empty form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import approve_through_services
from flask import Flask
from sqlalchemy import select

from vendorrisk.extensions import db
from vendorrisk.models import Annex, Assessment, Engagement, JobRun, Organisation, Remediation, User
from vendorrisk.paths import POLICIES_DIR
from vendorrisk.services import api_keys, evidence, policy_import
from vendorrisk.services.definitions import invitation_questionnaires
from vendorrisk.services.engagements import create_engagement
from vendorrisk.services.invitations import send_invitation

STAFF = ("admin", "procurement", "reviewer", "legal")
ACTORS = ("anonymous", "token", *STAFF, "other_org_admin")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def staff(allowed: tuple[str, ...] = STAFF, ok: int = 200, other: int = 404) -> dict[str, int]:
    """A staff page: anonymous and token-only visitors go to the login page (302); the allowed roles
    get `ok`, the other roles 403; the other organisation's admin `other` (404 for our rows, `ok` for
    pages that only show their own organisation's data)."""
    out = {"anonymous": 302, "token": 302, **{role: ok if role in allowed else 403 for role in STAFF}}
    out["other_org_admin"] = other if "admin" in allowed else 403
    return out


def everyone(code: int) -> dict[str, int]:
    return {actor: code for actor in ACTORS}


PROCUREMENT = ("admin", "procurement")
REVIEW = ("admin", "reviewer")
LEGAL = ("admin", "legal")
ADMIN = ("admin",)
API = everyone(401)  # the API takes an API key, never a session or a token link

EXPECT: dict[str, dict[str, dict[str, int]]] = {
    "static": {"GET": everyone(200)},
    "health.healthz": {"GET": everyone(200)},
    "auth.index": {"GET": everyone(302)},
    "auth.login": {"GET": {**everyone(302), "anonymous": 200, "token": 200},
                   "POST": {**everyone(302), "anonymous": 200, "token": 200}},
    "auth.logout": {"POST": everyone(302)},
    "auth.change_password": {"GET": staff(ok=200, other=200), "POST": staff(ok=400, other=400)},
    "staff.dashboard": {"GET": staff(other=200)},
    "staff.trace": {"GET": staff(other=200)},
    "staff.vendors": {"GET": staff(PROCUREMENT, other=200)},
    "staff.new_vendor": {"GET": staff(PROCUREMENT, other=200), "POST": staff(PROCUREMENT, other=200)},
    "staff.new_engagement": {"GET": staff(PROCUREMENT, other=200), "POST": staff(PROCUREMENT, other=200)},
    "staff.engagement": {"GET": staff()},
    "staff.review": {"GET": staff(REVIEW), "POST": staff(REVIEW, ok=400)},
    "staff.invite": {"POST": staff(PROCUREMENT, ok=400)},
    "staff.revoke": {"GET": staff(PROCUREMENT), "POST": staff(PROCUREMENT, ok=302)},
    "staff.resend": {"GET": staff(PROCUREMENT), "POST": staff(PROCUREMENT, ok=302)},
    "staff.invitation_sent": {"GET": staff(PROCUREMENT)},
    "records.edit_vendor": {"GET": staff(PROCUREMENT), "POST": staff(PROCUREMENT, ok=200)},
    "records.archive_vendor": {"POST": staff(PROCUREMENT, ok=302)},
    "records.restore_vendor": {"POST": staff(PROCUREMENT, ok=302)},
    "records.edit_engagement": {"GET": staff(PROCUREMENT), "POST": staff(PROCUREMENT, ok=200)},
    "records.archive_engagement": {"POST": staff(PROCUREMENT, ok=302)},
    "records.restore_engagement": {"POST": staff(PROCUREMENT, ok=302)},
    # 監査記録: admin, the reviewer and legal; procurement sees each engagement's invitation history.
    "records.audit_trail_page": {"GET": staff(("admin", "reviewer", "legal"), other=200)},
    "staff.record_check": {"POST": staff(PROCUREMENT, ok=400)},  # an empty form: no answer chosen
    "staff.reassess": {"POST": staff(PROCUREMENT, ok=302)},  # the approved engagement: a next one each time
    "staff.answer_sheet_download": {"GET": staff(PROCUREMENT)},  # the cloud engagement's open invitation
    "staff.answer_sheet_upload": {"POST": staff(PROCUREMENT, ok=302)},  # no file: back with a message
    "staff.evidence": {"GET": staff(("admin", "procurement", "reviewer"))},
    "staff.clarify": {"POST": staff(REVIEW, ok=400)},
    "staff.override": {"POST": staff(REVIEW, ok=400)},
    "staff.approval": {"POST": staff(ok=400)},
    "staff.review_remediation": {"POST": staff(REVIEW, ok=400)},
    "legal.index": {"GET": staff(LEGAL, other=200)},
    "legal.issue": {"POST": staff(LEGAL, ok=302)},
    "legal.download": {"GET": staff(LEGAL)},
    "legal.download_docx": {"GET": staff(LEGAL)},
    "legal.compare": {"GET": staff(LEGAL)},
    "legal.engagement": {"GET": staff(LEGAL)},
    "legal.preview": {"GET": staff(LEGAL)},
    "legal.signed": {"POST": staff(LEGAL, ok=302)},  # an empty form: back with a message
    "legal.signed_scan": {"GET": staff(LEGAL, ok=404)},
    "staff.export": {"GET": staff(other=200)},
    "staff.review_queue": {"GET": staff(REVIEW, other=200)},
    "admin.organisation": {"GET": staff(ADMIN, other=200)},
    "admin.articles": {"GET": staff(ADMIN, other=200)},
    "admin.edit_article": {"GET": staff(ADMIN, other=200), "POST": staff(ADMIN, ok=302, other=302)},
    "admin.reset_article": {"POST": staff(ADMIN, ok=302, other=302)},
    "admin.thresholds": {"POST": staff(ADMIN, ok=400, other=400)},
    "admin.annex_settings": {"POST": staff(ADMIN, ok=400, other=400)},
    "admin.guideline_edition": {"POST": staff(ADMIN, ok=302, other=302)},  # blank: back to the default edition
    "admin.approval_route": {"POST": staff(ADMIN, ok=400, other=400)},
    "admin.upload_policy": {"POST": staff(ADMIN, ok=400, other=400)},
    "admin.add_officer": {"POST": staff(ADMIN, ok=400, other=400)},
    "admin.add_user": {"POST": staff(ADMIN, ok=400, other=400)},
    "admin.deadlines": {"POST": staff(ADMIN, ok=400, other=400)},
    "mail_admin.index": {"GET": staff(ADMIN, other=200)},
    "mail_admin.edit": {"GET": staff(ADMIN, other=200), "POST": staff(ADMIN, ok=400, other=400)},
    "mail_admin.reset": {"POST": staff(ADMIN, ok=302, other=302)},
    "policy_admin.editions": {"GET": staff(ADMIN, other=200)},
    "policy_admin.review": {"GET": staff(ADMIN)},
    "policy_admin.edit": {"GET": staff(ADMIN), "POST": staff(ADMIN, ok=400)},
    "policy_admin.accept": {"POST": staff(ADMIN, ok=302)},
    "policy_admin.discard": {"POST": staff(ADMIN, ok=302)},
    "jobs_admin.index": {"GET": staff(ADMIN, other=200)},
    "jobs_admin.retry": {"POST": staff(ADMIN, ok=302)},
    "api_keys_admin.index": {"GET": staff(ADMIN, other=200)},
    "api_keys_admin.create": {"POST": staff(ADMIN, ok=400, other=400)},
    "api_keys_admin.revoke": {"POST": staff(ADMIN, ok=302)},
    # The portal: the token alone opens it, whoever is logged in.
    "portal.start": {"GET": everyone(200)},
    "portal.check": {"GET": everyone(200)},
    "portal.section": {"GET": everyone(200), "POST": everyone(302)},
    "portal.submit": {"POST": everyone(400)},
    "portal.autosave": {"POST": everyone(200)},
    "portal.handover": {"GET": everyone(200), "POST": everyone(400)},
    "portal.receipt": {"GET": everyone(404)},
    "portal.sheet_download": {"GET": everyone(200)},
    "portal.sheet_upload": {"GET": everyone(200), "POST": everyone(400)},  # the world's link is not submitted yet
    # Open only while the reviewer's questions or the 是正事項 are open: otherwise back to the start page.
    "portal.clarification": {"GET": everyone(302), "POST": everyone(302)},
    "portal.remediation": {"GET": everyone(302)},
    "portal.report_remediation": {"POST": everyone(302)},
    **{endpoint: {method: API for method in methods} for endpoint, methods in {
        "api.openapi": ("GET",),
        "api.list_vendors": ("GET",), "api.create_vendor": ("POST",), "api.get_vendor": ("GET",),
        "api.list_engagements": ("GET",), "api.create_engagement": ("POST",), "api.get_engagement": ("GET",),
        "api.get_assessment": ("GET",), "api.list_annexes": ("GET",), "api.download_annex": ("GET",),
        "api.list_invitations": ("GET",), "api.send_invitation": ("POST",), "api.revoke_invitation": ("POST",),
        "api.list_audit_events": ("GET",),
    }.items()},
}
# api.openapi is public documentation.
EXPECT["api.openapi"] = {"GET": everyone(200)}

OPEN = ("auth", "portal")  # blueprints whose redirects do not lead to the login page

# Routes whose effect would change what later rows see run last (logging out ends the session).
LAST = ("auth.logout",)


def _rules(app: Flask) -> list[tuple[str, str, Any]]:
    rows = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            rows.append((rule.endpoint, method, rule))
    return sorted(rows, key=lambda row: (row[0] in LAST, row[0], row[1]))


@pytest.fixture
def world(app, seed):
    return build_world(app, seed)


def build_world(app: Flask, seed: Any) -> dict[str, Any]:
    """tamana-city: the outsourcing engagement approved with an annex; the cloud one invited (open),
    with an evidence file; an API key, a policy draft and a job run. Returns a sample value for
    every argument of every route (and per-endpoint overrides)."""
    eid = approve_through_services(app, seed)
    with app.app_context():
        org = db.session.get(Organisation, seed.org_ids["tamana-city"])
        admin = db.session.scalar(select(User).filter_by(email=seed.users["admin"]))
        cloud = db.session.get(Engagement, seed.engagements[("tamana-city", "cloud")])
        sent = send_invitation(cloud, recipient_email="c@example.jp")
        first_q = invitation_questionnaires(sent.invitation)[0]
        section = first_q.applicable(cloud.profile())[0].section_id
        stored = evidence.store_evidence(sent.invitation.response, "q", "a.png", PNG, app.config["UPLOAD_DIR"])
        social = db.session.get(Engagement, seed.engagements[("tamana-city", "social_media")])
        to_revoke = send_invitation(social, recipient_email="s@example.jp").invitation
        resend_eng = create_engagement(org, cloud.vendor, [], reference="MATRIX-RESEND", title="再送", kinds=["cloud"],
                                       confidentiality=2)
        to_resend = send_invitation(resend_eng, recipient_email="r@example.jp").invitation
        key = api_keys.create_key(org, "matrix", "read", actor=admin).key
        policy = (POLICIES_DIR / "tamana-city.txt").read_bytes()
        editions = [policy_import.create_draft(policy, "tamana-city.txt", owner=org, user=admin)
                    for _ in range(3)]
        run = JobRun(key="matrix", name="mail.deliver", organisation_id=org.id, state="failed")
        db.session.add(run)
        approved = db.session.scalar(select(Assessment).filter_by(engagement_id=eid))
        remediation = Remediation(assessment_id=approved.id, obligation="matrix", open_days=5,
                                  deadline=dt.date(2027, 1, 8), state="reported")
        db.session.add(remediation)
        db.session.commit()
        return {
            "engagement_id": eid,
            "annex_id": db.session.scalar(select(Annex.id)),
            "other_id": db.session.scalar(select(Annex.id)),
            "invitation_id": to_revoke.id,
            "evidence_id": stored["evidence_id"],
            "key_id": key.id,
            "edition_id": editions[0].id,
            # accepting or discarding ends a draft: each gets its own
            "policy_admin.accept": {"edition_id": editions[1].id},
            "policy_admin.discard": {"edition_id": editions[2].id},
            "staff.invite": {"engagement_id": cloud.id},
            "staff.resend": {"invitation_id": to_resend.id},
            # the social-media bank asks the municipality whether it lists its official accounts
            "staff.record_check": {"engagement_id": social.id},
            "question_id": "sns.procedure.official_list",
            "staff.answer_sheet_download": {"engagement_id": cloud.id},
            "staff.answer_sheet_upload": {"engagement_id": cloud.id},
            "run_id": run.id,
            "remediation_id": remediation.id,
            "vendor_id": cloud.vendor_id,
            "key": "confidentiality",
            "kind": "reminder_before",
            "token": sent.token,
            "qid": first_q.id,
            "section_id": section,
            "filename": "app.css",
            "what": "engagements",
            "fmt": "csv",
        }


def _url(rule: Any, world: dict[str, Any]) -> str:
    values = {name: world[name] for name in rule.arguments} | world.get(rule.endpoint, {})
    return str(rule.build(values, append_unknown=False)[1])


def test_every_route_has_an_entry(app):
    routes = {(endpoint, method) for endpoint, method, _ in _rules(app)}
    entries = {(endpoint, method) for endpoint, methods in EXPECT.items() for method in methods}
    assert not routes - entries, f"routes without an entry in EXPECT: {sorted(routes - entries)}"
    assert not entries - routes, f"entries for routes that do not exist: {sorted(entries - routes)}"
    for endpoint, methods in EXPECT.items():
        for method, by_actor in methods.items():
            assert set(by_actor) == set(ACTORS), f"{method} {endpoint}: every actor needs an expected status"


def test_access_matrix(app, seed, world):
    emails = dict(seed.users)
    failures = []
    clients = {}
    for actor in ACTORS:
        clients[actor] = app.test_client()
        if actor in emails:
            login = {"email": emails[actor], "password": "correct-horse-battery-2026"}
            assert clients[actor].post("/login", data=login).status_code == 302
        if actor == "token":  # a contractor who has opened the link: the portal's session only
            assert clients[actor].get(f"/r/{world['token']}/").status_code == 200
    missing = [f"{method} {endpoint}" for endpoint, method, rule in _rules(app)
               if any(name not in world for name in rule.arguments)]
    assert not missing, f"no sample value for the arguments of {missing}"
    for endpoint, method, rule in _rules(app):
        url = _url(rule, world)
        for actor in ACTORS:
            expected = EXPECT[endpoint][method][actor]
            response = clients[actor].open(url, method=method, data={})
            response.close()
            if response.status_code != expected:
                failures.append(f"{method} {url} ({endpoint}) as {actor}: {response.status_code}, expected {expected}")
            elif (expected == 302 and actor in ("anonymous", "token") and endpoint.split(".")[0] not in OPEN
                  and "/login" not in response.headers["Location"]):
                failures.append(f"{method} {url} as {actor}: redirected to {response.headers['Location']}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("suffix", ["/", "/check", "/s/q/s"])
def test_a_wrong_token_is_404_for_everyone(app, seed, suffix):
    client = app.test_client()
    assert client.get("/r/" + "x" * 43 + suffix).status_code == 404
    assert client.post("/r/" + "x" * 43 + "/submit").status_code == 404


def test_other_organisation_sees_none_of_our_data(app, seed, world, login, client):
    login(seed.users["other_org_admin"])
    dashboard = client.get("/staff/").get_data(as_text=True)
    assert "青梅市" in dashboard
    legal = client.get("/legal/").get_data(as_text=True)
    assert "玉名市" not in dashboard + legal
