"""The JSON API: keys issued on the admin page (stored hashed, scoped, revocable, last use shown),
every operation limited to the key's organisation, and schemathesis against the live app: no server
error, every response matching the OpenAPI document."""

from __future__ import annotations

import hashlib
import re

import schemathesis
from conftest import approve_through_services
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from vendorrisk.extensions import db
from vendorrisk.models import ApiKey, AuditEvent, Organisation, User
from vendorrisk.services import api_keys


def _issue_key_on_page(client, scope: str, name: str = "文書管理システム連携") -> str:
    r = client.post("/admin/api-keys/", data={"name": name, "scope": scope})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "いまだけ表示" in page
    match = re.search(r"(vr_[0-9a-f]{8}_[A-Za-z0-9_\-]{40,})", page)
    assert match, "the new key is shown once"
    return match.group(1)


def _key_for(app, slug: str, scope: str) -> str:
    with app.app_context():
        org = db.session.scalar(select(Organisation).filter_by(slug=slug))
        admin = db.session.scalar(select(User).filter_by(organisation_id=org.id, role="admin"))
        secret = api_keys.create_key(org, f"test {scope}", scope, actor=admin).secret
        db.session.commit()
        return secret


def _h(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_keys_are_issued_once_stored_hashed_and_revocable(app, client, seed, login):
    login(seed.users["admin"])
    secret = _issue_key_on_page(client, "read")
    with app.app_context():
        key = db.session.scalar(select(ApiKey))
        assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in repr([getattr(key, c.name) for c in ApiKey.__table__.columns])
        assert db.session.scalar(select(AuditEvent).filter_by(action="api_key.create")) is not None
    page = client.get("/admin/api-keys/").get_data(as_text=True)
    assert secret not in page and "まだ使われていません" in page

    api = app.test_client()
    r = api.get("/api/v1/vendors", headers=_h(secret))
    assert r.status_code == 200 and r.json["total"] == 1
    assert "まだ使われていません" not in client.get("/admin/api-keys/").get_data(as_text=True)

    # Read scope cannot write; no key or a wrong key is 401 with a JSON body in Japanese.
    r = api.post("/api/v1/vendors", json={"name": "株式会社書けない"}, headers=_h(secret))
    assert r.status_code == 403 and "権限" in r.json["error"]["message"]
    assert api.get("/api/v1/vendors").status_code == 401
    r = api.get("/api/v1/vendors", headers=_h(secret[:-2] + "xx"))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")

    with app.app_context():
        key_id = db.session.scalar(select(ApiKey.id))
    assert client.post(f"/admin/api-keys/{key_id}/revoke").status_code == 302
    assert api.get("/api/v1/vendors", headers=_h(secret)).status_code == 401
    assert "無効" in client.get("/admin/api-keys/").get_data(as_text=True)

    # Only admins manage keys.
    client.post("/logout")
    login(seed.users["procurement"])
    assert client.get("/admin/api-keys/").status_code == 403


def test_write_key_registers_and_invites(app, seed):
    secret = _key_for(app, "tamana-city", "write")
    api = app.test_client()

    r = api.post("/api/v1/vendors", headers=_h(secret), json={
        "name": "株式会社API連携", "corporate_number": "７０００－０１２０－５０００２",
        "contact_email": "info@api.example.jp"})
    # The seed already holds this 法人番号: a conflict, said plainly.
    assert r.status_code == 409 and "法人番号" in r.json["error"]["message"]
    r = api.post("/api/v1/vendors", json={"name": "株式会社API連携", "corporate_number": "1234567890123"},
                 headers=_h(secret))
    assert r.status_code == 422 and r.json["error"]["details"][0]["field"] == "corporate_number"
    r = api.post("/api/v1/vendors", json={"name": "  株式会社API連携\x07 "}, headers=_h(secret))
    assert r.status_code == 201 and r.json["name"] == "株式会社API連携"
    vendor_id = r.json["id"]

    r = api.post("/api/v1/engagements", headers=_h(secret), json={
        "vendor_id": vendor_id, "reference": "API-2027-001", "title": "API経由の案件", "kinds": ["cloud"],
        "confidentiality": 2})
    assert r.status_code == 201 and r.json["state"] == "draft"
    new_eid = r.json["id"]
    r = api.post("/api/v1/engagements", headers=_h(secret), json={
        "vendor_id": vendor_id, "reference": "API-2027-001", "title": "重複", "kinds": ["cloud"]})
    assert r.status_code == 409

    r = api.post(f"/api/v1/engagements/{new_eid}/invitations", json={"recipient_email": "a@api.example.jp"},
                 headers=_h(secret))
    assert r.status_code == 201 and r.json["state"] == "open" and "/r/" in r.json["link"]
    inv_id = r.json["id"]
    assert api.get(f"/api/v1/engagements/{new_eid}", headers=_h(secret)).json["state"] == "invited"
    listed = api.get(f"/api/v1/engagements/{new_eid}/invitations", headers=_h(secret)).json
    assert listed["total"] == 1 and listed["items"][0]["link"] is None  # the link is shown once
    r = api.post(f"/api/v1/invitations/{inv_id}/revoke", headers=_h(secret))
    assert r.status_code == 200 and r.json["state"] == "revoked"
    assert api.post(f"/api/v1/invitations/{inv_id}/revoke", headers=_h(secret)).status_code == 409

    # The revoked invitation put API-2027-001 back to 下書き.
    filtered = api.get("/api/v1/engagements?kind=cloud&state=draft", headers=_h(secret)).json
    assert {e["reference"] for e in filtered["items"]} == {"CLD-1", "API-2027-001"}


def test_results_documents_audit_and_bad_requests(app, seed):
    eid = approve_through_services(app, seed, kind="outsourcing")
    secret = _key_for(app, "tamana-city", "write")
    api = app.test_client()
    result = api.get(f"/api/v1/engagements/{eid}/assessment", headers=_h(secret)).json
    assert result["decision"] == "approved" and result["rating"] in ("pass", "conditional")
    annexes = api.get(f"/api/v1/engagements/{eid}/annexes", headers=_h(secret)).json
    assert annexes["total"] == 1
    pdf = api.get(f"/api/v1/annexes/{annexes['items'][0]['id']}/pdf", headers=_h(secret))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert hashlib.sha256(pdf.data).hexdigest() == annexes["items"][0]["pdf_sha256"]
    events = api.get("/api/v1/audit-events?action=annex.download", headers=_h(secret)).json
    assert events["total"] == 1 and events["items"][0]["actor"].startswith("api_key:")

    assert api.get("/api/v1/engagements?per_page=1000", headers=_h(secret)).status_code == 422
    assert api.post("/api/v1/vendors", data="name=x", headers=_h(secret)).status_code == 415
    assert api.get("/api/v1/vendors/99999999999999999999", headers=_h(secret)).status_code == 404
    assert api.get("/api/v1/nothing-here", headers=_h(secret)).json["error"]["code"] == "not_found"


def test_no_cross_organisation_access(app, seed):
    eid = approve_through_services(app, seed, kind="outsourcing")
    ome = _key_for(app, "ome-city", "write")
    api = app.test_client()
    with app.app_context():
        from vendorrisk.models import Annex, Engagement

        tamana_vendor = db.session.get(Engagement, eid).vendor_id
        annex_id = db.session.scalar(select(Annex.id))
    for url in (f"/api/v1/vendors/{tamana_vendor}", f"/api/v1/engagements/{eid}",
                f"/api/v1/engagements/{eid}/assessment", f"/api/v1/engagements/{eid}/annexes",
                f"/api/v1/engagements/{eid}/invitations", f"/api/v1/annexes/{annex_id}/pdf"):
        assert api.get(url, headers=_h(ome)).status_code == 404, url
    r = api.post(f"/api/v1/engagements/{eid}/invitations", json={"recipient_email": "x@example.jp"}, headers=_h(ome))
    assert r.status_code == 404
    r = api.post("/api/v1/engagements", headers=_h(ome), json={
        "vendor_id": tamana_vendor, "reference": "X-1", "title": "他団体の事業者", "kinds": ["cloud"]})
    assert r.status_code == 422
    listed = api.get("/api/v1/engagements", headers=_h(ome)).json
    assert {e["reference"] for e in listed["items"]} == {"OUT-1", "CLD-1", "SNS-1"} and listed["total"] == 3
    assert all(e["id"] != eid for e in listed["items"])
    events = api.get("/api/v1/audit-events?per_page=100", headers=_h(ome)).json["items"]
    assert events and all("OUT-1" not in str(e["data"]) or e["object_type"] != "assessment" for e in events)


def test_openapi_document_is_served_and_valid(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.json["openapi"].startswith("3.1")
    assert "/api/v1/engagements/{engagement_id}/invitations" in r.json["paths"]


def test_api_conforms_to_its_schema(app, seed):
    """schemathesis drives every operation of the document against the app (real database) with a
    write key: no server error, and every response (status, content type, body) as documented."""
    approve_through_services(app, seed, kind="outsourcing")
    headers = _h(_key_for(app, "tamana-city", "write"))
    api_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 13

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers=headers, checks=checks)

        check()


def test_text_that_cannot_live_in_a_document_is_removed_on_the_way_in(app, client, seed, login):
    """U+FFFF, a lone surrogate (JSON "\\ud800") and controls are removed from API bodies exactly as
    from web forms: the name is stored clean and the vendor's annex DOCX downloads."""
    import io
    import zipfile

    from vendorrisk.demo import _take_through
    from vendorrisk.models import Engagement
    from vendorrisk.services.unit_of_work import unit_of_work

    secret = _key_for(app, "tamana-city", "write")
    api = app.test_client()
    raw = '{"name": "委託\\uffff先\\ud800\\u0000株式会社\\ufdd0", "contact_email": "info@itaku.example.jp"}'
    r = api.post("/api/v1/vendors", data=raw.encode(), content_type="application/json", headers=_h(secret))
    assert r.status_code == 201 and r.json["name"] == "委託先株式会社"
    with app.app_context():
        officers = [o.id for o in db.session.scalar(select(Organisation).filter_by(slug="tamana-city")).officers]
    r = api.post("/api/v1/engagements", headers=_h(secret), json={
        "vendor_id": r.json["id"], "reference": "API-FFFF-1", "title": "保守\uffff業務", "kinds": ["outsourcing"],
        "confidentiality": 2, "period_start": "2026-04-01", "period_end": "2027-03-31", "officer_ids": officers})
    assert r.status_code == 201 and r.json["title"] == "保守業務"
    eid = r.json["id"]
    with app.app_context(), unit_of_work():
        eng = db.session.get(Engagement, eid)
        assert eng.vendor.name == "委託先株式会社"
        reviewer = db.session.scalar(select(User).filter_by(email=seed.users["reviewer"]))
        legal = db.session.scalar(select(User).filter_by(email=seed.users["legal"]))
        _take_through(eng, reviewer, legal)
    annexes = api.get(f"/api/v1/engagements/{eid}/annexes", headers=_h(secret)).json
    assert annexes["total"] == 1
    login(seed.users["legal"])
    r = client.get(f"/legal/annexes/{annexes['items'][0]['id']}.docx")
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.data)) as docx:
        document = docx.read("word/document.xml").decode("utf-8")
    assert "委託先株式会社" in document and "\uffff" not in document
