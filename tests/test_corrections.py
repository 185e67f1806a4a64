"""Correcting, archiving and restoring vendors and engagements; sending as POST-redirect-GET (a reload
sends nothing), 「新しいリンクで再送する」 and revoking after a confirmation; the invitation history;
the audit trail page and its filters; the link base on the admin page."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from helpers import token_from_outbox_or_page
from sqlalchemy import func, select

from vendorrisk.domain.vocabulary import JST
from vendorrisk.extensions import db
from vendorrisk.models import AuditEvent, Engagement, Invitation, User, Vendor, utcnow

TAMANA = "tamana-city"


def _outbox(app: Any) -> list[Path]:
    return sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))


def _invitations(app: Any, eid: int) -> list[tuple[int, str]]:
    with app.app_context():
        return [(i, state) for i, state in db.session.execute(
            select(Invitation.id, Invitation.state).filter_by(engagement_id=eid).order_by(Invitation.id))]


def _edit_data(app: Any, eid: int, **changes: Any) -> dict[str, Any]:
    """The edit form as the pre-filled page would post it, with `changes`."""
    with app.app_context():
        e = db.session.get(Engagement, eid)
        data = {
            "reference": e.reference, "title": e.title, "kinds": list(e.kinds),
            "confidentiality": str(e.confidentiality), "integrity": str(e.integrity),
            "availability": str(e.availability), "network_segment": e.network_segment or "",
            "period_start": e.period_start.isoformat() if e.period_start else "",
            "period_end": e.period_end.isoformat() if e.period_end else "",
            "officer_ids": [str(link.officer_id) for link in e.officer_links],
        }
        if e.personal_data:
            data["personal_data"] = "y"
        if e.my_number:
            data["my_number"] = "y"
    return {**data, **changes}


def _events(app: Any, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id)))
        db.session.expunge_all()
        return events


# --- correcting an engagement -------------------------------------------------------------------


def test_changing_confidentiality_after_sending_needs_a_reason_then_revokes_the_invitation(app, client, seed, login,
                                                                                            invite):
    eid = seed.engagements[(TAMANA, "cloud")]
    token = invite("cloud")
    login(seed.users["procurement"])
    page = client.get(f"/staff/engagements/{eid}/edit").get_data(as_text=True)
    assert '<input checked id="confidentiality-1" name="confidentiality" required type="radio" value="2">' in page, \
        "pre-filled"
    assert "変更の理由" in page and "回答依頼を送信済みです" in page
    before = _edit_data(app, eid)
    assert before["confidentiality"] == "2"

    refused = client.post(f"/staff/engagements/{eid}/edit", data={**before, "confidentiality": "3"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "入力内容に問題があります" in body
    assert "機密性を変えるには、変更の理由を入力してください" in body
    assert '<input aria-invalid="true" checked id="confidentiality-0"' in body or \
        re.search(r'<input[^>]*checked[^>]*id="confidentiality-0"', body), "kept as typed"
    with app.app_context():
        assert db.session.get(Engagement, eid).confidentiality == 2
    assert _invitations(app, eid)[-1][1] == "open"
    assert client.get(f"/r/{token}/").status_code == 200
    assert _events(app, "engagement.update") == []

    reason = "所管課の確認で、取り扱う情報が機密性3と分かったため"
    accepted = client.post(f"/staff/engagements/{eid}/edit", data={**before, "confidentiality": "3", "reason": reason})
    assert accepted.status_code == 302
    shown = client.get(accepted.headers["Location"]).get_data(as_text=True)
    assert "a@example.jp に送った回答依頼を取り消しました" in shown
    assert "新しい回答依頼が必要です" in shown
    with app.app_context():
        engagement = db.session.get(Engagement, eid)
        assert engagement.confidentiality == 3 and engagement.needs_new_invitation and engagement.state == "draft"
    assert _invitations(app, eid)[-1][1] == "revoked"
    assert client.get(f"/r/{token}/").status_code == 404, "the old link no longer opens"
    [event] = _events(app, "engagement.update")
    assert event.data["changes"] == {"confidentiality": {"before": 2, "after": 3}}
    assert event.data["reason"] == reason and event.actor.startswith("user:")
    [revoked] = _events(app, "invitation.revoke")
    assert revoked.data["reason"] == reason
    # The history on the engagement page says it was revoked, and why.
    assert "回答依頼の履歴" in shown and "取消" in shown and reason in shown
    # A new invitation clears the mark.
    client.post(f"/staff/engagements/{eid}/invite", data={"recipient_email": "a@example.jp"})
    with app.app_context():
        assert not db.session.get(Engagement, eid).needs_new_invitation


def test_before_sending_the_profile_changes_freely_and_the_checks_are_those_of_registering(app, client, seed, login):
    eid = seed.engagements[(TAMANA, "outsourcing")]
    other = seed.engagements[(TAMANA, "cloud")]
    login(seed.users["procurement"])
    with app.app_context():
        taken = db.session.get(Engagement, other).reference
    data = _edit_data(app, eid)
    r = client.post(f"/staff/engagements/{eid}/edit", data={**data, "reference": taken, "period_start": "令和8年4月1日",
                                                              "period_end": "2026-03-31"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "この案件番号はすでに使われています" in body
    assert "契約期間（終了）は開始日以降の日付を入力してください" in body
    r = client.post(f"/staff/engagements/{eid}/edit", data={**data, "confidentiality": "3", "kinds": ["cloud"],
                                                              "title": "件名を直した"})
    assert r.status_code == 302
    with app.app_context():
        e = db.session.get(Engagement, eid)
        assert (e.confidentiality, e.kinds, e.title) == (3, ["cloud"], "件名を直した")
        assert not e.needs_new_invitation
    [event] = _events(app, "engagement.update")
    assert event.data["changes"]["kinds"] == {"before": ["outsourcing"], "after": ["cloud"]}
    # Unchanged: nothing recorded.
    client.post(f"/staff/engagements/{eid}/edit", data=_edit_data(app, eid))
    assert len(_events(app, "engagement.update")) == 1


def test_a_submitted_engagements_profile_is_not_changed(app, client, seed, login, make_submitted_invitation):
    eid = seed.engagements[(TAMANA, "social_media")]
    make_submitted_invitation(eid)
    login(seed.users["procurement"])
    r = client.post(f"/staff/engagements/{eid}/edit",
                    data=_edit_data(app, eid, confidentiality="3", reason="誤り"))
    assert r.status_code == 200 and "回答が提出済みのため" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Engagement, eid).confidentiality == 1


def test_correcting_a_vendor_checks_the_corporate_number(app, client, seed, login, make_vendor):
    org = seed.org_ids[TAMANA]
    other_id = make_vendor(org, name="株式会社別会社", corporate_number="1000020432016")
    with app.app_context():
        vendor = db.session.scalar(select(Vendor).filter_by(organisation_id=org).order_by(Vendor.id))
        vid, number, name = vendor.id, vendor.corporate_number, vendor.name
    login(seed.users["procurement"])
    page = client.get(f"/staff/vendors/{vid}/edit").get_data(as_text=True)
    assert f'value="{name}"' in page and f'value="{number}"' in page
    data = {"name": name, "corporate_number": number, "address": "熊本県玉名市岩崎1", "representative": "",
            "contact_email": ""}
    bad = client.post(f"/staff/vendors/{vid}/edit", data={**data, "corporate_number": "1234567890123"})
    assert bad.status_code == 200 and "入力内容に問題があります" in bad.get_data(as_text=True)
    assert 'value="1234567890123"' in bad.get_data(as_text=True)
    taken = client.post(f"/staff/vendors/{vid}/edit", data={**data, "corporate_number": "1000020432016"})
    assert "すでに登録されています" in taken.get_data(as_text=True)
    assert client.post(f"/staff/vendors/{vid}/edit", data=data).status_code == 302, "its own number is not taken"
    [event] = _events(app, "vendor.update")
    assert event.data["changes"]["address"]["after"] == "熊本県玉名市岩崎1"
    assert other_id


# --- archive and restore ------------------------------------------------------------------------


def test_archive_then_restore_a_vendor_and_an_engagement(app, client, seed, login):
    org = seed.org_ids[TAMANA]
    eid = seed.engagements[(TAMANA, "outsourcing")]
    with app.app_context():
        vendor = db.session.scalar(select(Vendor).filter_by(organisation_id=org))
        vid, vname = vendor.id, vendor.name
        reference = db.session.get(Engagement, eid).reference
    login(seed.users["procurement"])
    assert vname in client.get("/staff/vendors").get_data(as_text=True)
    assert client.post(f"/staff/vendors/{vid}/archive").status_code == 302
    listed = client.get("/staff/vendors").get_data(as_text=True)
    assert vname not in listed.split('class="list-count"')[1]
    archived = client.get("/staff/vendors?archived=archived").get_data(as_text=True)
    assert vname in archived and "元に戻す" in archived
    search = client.get("/staff/engagements/new", query_string={"vendor_q": vname}).get_data(as_text=True)
    assert "に合う事業者はありません" in search, "an archived vendor is not offered for a new engagement"
    assert client.post(f"/staff/vendors/{vid}/restore").status_code == 302
    assert vname in client.get("/staff/vendors").get_data(as_text=True).split('class="list-count"')[1]

    assert client.post(f"/staff/engagements/{eid}/archive").status_code == 302
    dashboard = client.get("/staff/", query_string={"q": reference}).get_data(as_text=True)
    assert "条件に合うものはありません" in dashboard
    shown = client.get("/staff/", query_string={"q": reference, "archived": "archived"}).get_data(as_text=True)
    assert f">{reference}</a>" in shown and "アーカイブ済み" in shown
    page = client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    assert "アーカイブされました" in page and "回答依頼を送る</button>" not in page
    assert client.post(f"/staff/engagements/{eid}/invite", data={"recipient_email": "a@example.jp"}).status_code == 302
    assert _invitations(app, eid) == [], "no invitation for an archived engagement"
    assert client.post(f"/staff/engagements/{eid}/restore").status_code == 302
    assert f">{reference}</a>" in client.get("/staff/", query_string={"q": reference}).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Engagement, eid).archived_at is None and db.session.get(Vendor, vid).archived_at is None
    actions = [e.action for e in _events(app, "vendor.archive") + _events(app, "vendor.restore")
               + _events(app, "engagement.archive") + _events(app, "engagement.restore")]
    assert actions == ["vendor.archive", "vendor.restore", "engagement.archive", "engagement.restore"]
    [archived_event] = _events(app, "engagement.archive")
    assert archived_event.data["changes"]["archived_at"]["before"] is None
    assert archived_event.data["changes"]["archived_at"]["after"].startswith(str(utcnow().year))
    client.post("/logout")
    login(seed.users["admin"])
    trail = client.get("/staff/audit?action=engagement.restore").get_data(as_text=True).split("<tbody>")[1]
    assert "案件の復元" in trail and "アーカイブ日時：" in trail and "→ （なし）" in trail


def test_an_engagement_with_an_open_invitation_is_not_archived(app, client, seed, login, invite):
    eid = seed.engagements[(TAMANA, "cloud")]
    invite("cloud")
    login(seed.users["procurement"])
    r = client.post(f"/staff/engagements/{eid}/archive")
    assert "回答依頼を取り消してください" in client.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Engagement, eid).archived_at is None


# --- sending: POST-redirect-GET, show again, resend, revoke ---------------------------------------


def test_reloading_the_send_result_sends_nothing_and_the_link_shows_while_kept(app, client, seed, login):
    eid = seed.engagements[(TAMANA, "cloud")]
    login(seed.users["procurement"])
    r = client.post(f"/staff/engagements/{eid}/invite", data={"recipient_email": "a@example.jp"})
    assert r.status_code == 302 and re.search(r"/staff/invitations/\d+/sent$", r.headers["Location"])
    first = client.get(r.headers["Location"]).get_data(as_text=True)
    token = token_from_outbox_or_page(first)
    assert "回答依頼を送りました" in first
    for _ in range(2):  # reloads
        again = client.get(r.headers["Location"]).get_data(as_text=True)
        assert token in again
    assert len(_outbox(app)) == 1 and len(_invitations(app, eid)) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Invitation.id)).where(Invitation.token_hash == token)) == 0
    # The engagement page offers to show it again while it is kept.
    assert "リンクをもう一度表示する" in client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    # The session cookie does not carry the token in clear.
    cookie = client.get_cookie("session") or client.get_cookie("__Host-session")
    assert cookie is not None and token not in cookie.value
    # Another session (another browser) cannot see it: only 「新しいリンクで再送する」 is offered.
    other = app.test_client()
    other.post("/login", data={"email": seed.users["procurement"], "password": "correct-horse-battery-2026"})
    elsewhere = other.get(r.headers["Location"]).get_data(as_text=True)
    assert token not in elsewhere and "/r/" not in elsewhere and "新しいリンクで再送する" in elsewhere


def test_resending_with_a_new_link_asks_first_then_revokes_the_old_one(app, client, seed, login, invite):
    eid = seed.engagements[(TAMANA, "cloud")]
    old_token = invite("cloud")
    [(old_id, _)] = _invitations(app, eid)
    login(seed.users["procurement"])
    confirm = client.get(f"/staff/invitations/{old_id}/resend")
    body = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "いま送ってあるリンクは使えなくなります" in body
    assert len(_outbox(app)) == 1 and client.get(f"/r/{old_token}/").status_code == 200, "asking sends nothing"
    r = client.post(f"/staff/invitations/{old_id}/resend", follow_redirects=True)
    new_token = token_from_outbox_or_page(r.get_data(as_text=True))
    assert new_token != old_token and len(_outbox(app)) == 2
    assert [state for _, state in _invitations(app, eid)] == ["revoked", "open"]
    assert client.get(f"/r/{old_token}/").status_code == 404 and client.get(f"/r/{new_token}/").status_code == 200


def test_revoking_shows_the_consequences_and_revokes_only_when_confirmed(app, client, seed, login, invite):
    eid = seed.engagements[(TAMANA, "cloud")]
    token = invite("cloud")
    [(inv_id, _)] = _invitations(app, eid)
    login(seed.users["procurement"])
    page = client.get(f"/staff/engagements/{eid}").get_data(as_text=True)
    assert f'href="/staff/invitations/{inv_id}/revoke"' in page, "a link to the confirmation, not a button"
    confirm = client.get(f"/staff/invitations/{inv_id}/revoke")
    body = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "回答依頼を取り消しますか" in body
    assert "リンクはすぐに使えなくなります" in body and 'method="post"' in body
    assert _invitations(app, eid) == [(inv_id, "open")] and client.get(f"/r/{token}/").status_code == 200
    r = client.post(f"/staff/invitations/{inv_id}/revoke")
    assert "回答依頼を取り消しました" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert _invitations(app, eid) == [(inv_id, "revoked")] and client.get(f"/r/{token}/").status_code == 404


# --- the audit trail ----------------------------------------------------------------------------


def test_the_audit_page_filters_by_actor_engagement_action_and_dates(app, client, seed, login, invite):
    cloud = seed.engagements[(TAMANA, "cloud")]
    social = seed.engagements[(TAMANA, "social_media")]
    invite("cloud")
    login(seed.users["procurement"])
    client.post(f"/staff/engagements/{social}/edit", data=_edit_data(app, social, title="広報アカウント運用（修正）"))
    client.post("/logout")
    with app.app_context():
        procurement = db.session.scalar(select(User.id).filter_by(email=seed.users["procurement"]))
        cloud_ref = db.session.get(Engagement, cloud).reference
    assert login(seed.users["procurement"]) and client.get("/staff/audit").status_code == 403
    client.post("/logout")

    login(seed.users["reviewer"])
    everything = client.get("/staff/audit").get_data(as_text=True).split("<tbody>")[1]
    assert "ログイン" in everything and "案件の修正" in everything and "回答依頼の送信" in everything
    assert everything.index("ログイン") < everything.index("案件の修正"), "newest first (this login is the newest)"
    mine = client.get("/staff/audit", query_string={"actor": procurement}).get_data(as_text=True)
    assert "procurementさん" in mine and "reviewerさん" not in mine.split("<tbody>")[1]
    about_cloud = client.get("/staff/audit", query_string={"engagement": cloud_ref}).get_data(as_text=True)
    rows = about_cloud.split("<tbody>")[1]
    assert "回答依頼の送信" in rows and "案件の修正" not in rows and "ログイン" not in rows
    edits = client.get("/staff/audit", query_string={"action": "engagement.update"}).get_data(as_text=True)
    assert "件名：委託" in edits or "件名：" in edits.split("<tbody>")[1] and "→ 広報アカウント運用（修正）" in edits
    assert re.search(r'<p class="list-count" role="status">全1件中', edits)
    today = utcnow().astimezone(JST).date()
    tomorrow, yesterday = today + dt.timedelta(days=1), today - dt.timedelta(days=1)
    future = client.get("/staff/audit", query_string={"date_from": tomorrow.isoformat()}).get_data(as_text=True)
    assert "条件に合うものはありません" in future
    past = client.get("/staff/audit", query_string={"date_to": yesterday.isoformat()}).get_data(as_text=True)
    assert "条件に合うものはありません" in past
    todays = client.get("/staff/audit", query_string={"date_from": today.isoformat(), "date_to": today.isoformat(),
                                                      "action": "engagement.update"}).get_data(as_text=True)
    assert "全1件中" in todays and 'name="action"' in todays and 'value="engagement.update" selected' in todays
    # Bad values are ignored, never an error.
    assert client.get("/staff/audit?actor=x&date_from=2026-02-30&page=-1&action=<x>").status_code == 200
    # The engagement page links to its trail.
    page = client.get(f"/staff/engagements/{cloud}").get_data(as_text=True)
    assert f'href="/staff/audit?engagement={cloud_ref}"' in page
    # Another organisation's admin sees none of ours.
    client.post("/logout")
    login(seed.users["other_org_admin"])
    theirs = client.get("/staff/audit").get_data(as_text=True)
    assert "a@example.jp" not in theirs and "procurementさん" not in theirs
    assert "条件に合うものはありません" in client.get("/staff/audit", query_string={"actor": procurement}).get_data(
        as_text=True)


def test_the_audit_page_pages_newest_first(app, client, seed, login):
    from vendorrisk.services import audit

    with app.app_context():
        org = seed.org_ids[TAMANA]
        for n in range(120):
            change = {"address": {"before": "a", "after": f"住所{n:03d}"}}
            audit.record("vendor.update", "vendor", 1, organisation_id=org, actor="system",
                         data={"name": f"事業者{n:03d}", "changes": change})
        db.session.commit()
    login(seed.users["admin"])
    first = client.get("/staff/audit?action=vendor.update").get_data(as_text=True)
    assert "全120件中 1〜50件を表示" in first and "住所119" in first and "住所069" not in first
    second = client.get("/staff/audit?action=vendor.update&page=2").get_data(as_text=True)
    assert "全120件中 51〜100件を表示" in second and "住所069" in second
    assert re.search(r'<a rel="next" href="[^"]*action=vendor.update[^"]*page=3', second)


# --- the admin page -----------------------------------------------------------------------------


def test_the_admin_page_shows_the_link_base_in_use(app, client, seed, login):
    login(seed.users["admin"])
    app.config.update(BASE_URL="https://vendorrisk.example.lg.jp", SERVED_URL="http://127.0.0.1:8000")
    body = client.get("/admin/organisation").get_data(as_text=True)
    assert "https://vendorrisk.example.lg.jp/r/…" in body and "VENDORRISK_BASE_URL の設定" in body
    assert "一致していません" in body and "http://127.0.0.1:8000" in body
    app.config.update(BASE_URL=None, SERVED_URL="http://127.0.0.1:8000")
    body = client.get("/admin/organisation").get_data(as_text=True)
    assert "http://127.0.0.1:8000/r/…" in body and "一致しています" in body
