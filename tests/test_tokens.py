"""Invitation tokens: 256-bit, stored hashed; wrong and revoked get the same neutral 404; an expired
link gets a plain page saying so and whom to ask, without any answer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from vendorrisk.extensions import db
from vendorrisk.models import Invitation, utcnow


def test_token_is_256_bits_and_only_its_hash_is_stored(app, client, seed, login, invite):
    token = invite()
    assert len(token) >= 43  # token_urlsafe(32)
    with app.app_context():
        stored = db.session.scalar(select(Invitation.token_hash))
        assert stored == Invitation.hash_token(token) and stored != token
    assert client.get(f"/r/{token}/").status_code == 200


def _neutral_404(client, url):
    r = client.get(url)
    assert r.status_code == 404
    body = r.get_data(as_text=True)
    assert "ページが見つかりません" in body
    return body


def test_wrong_and_revoked_tokens_look_the_same_and_expired_says_whom_to_ask(app, client, seed, login, invite):
    token = invite(contact_department="総務課 契約係", contact_phone="0968-75-1111")
    wrong = _neutral_404(app.test_client(), "/r/" + "A" * 43 + "/")
    with app.app_context():
        inv = db.session.scalar(select(Invitation))
        inv.expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    unique_answer = "期限切れでも見えてはならない回答"
    with app.app_context():
        from vendorrisk.services.answers import save_answers

        inv = db.session.scalar(select(Invitation))
        inv.expires_at = utcnow() + dt.timedelta(days=1)
        save_answers(inv, {"out.people.work_site": unique_answer})
        inv.expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    for url in (f"/r/{token}/", f"/r/{token}/check", f"/r/{token}/receipt.pdf"):
        r = app.test_client().get(url)
        assert r.status_code == 410
        expired = r.get_data(as_text=True)
        assert "このリンクの有効期限が切れています" in expired
        assert "総務課 契約係" in expired and "0968-75-1111" in expired and "procurement@tamana.test" in expired
        assert unique_answer not in expired and "テスト案件" not in expired
    assert expired != wrong
    with app.app_context():
        inv = db.session.scalar(select(Invitation))
        inv.expires_at = utcnow() + dt.timedelta(days=1)
        db.session.commit()
    assert client.get(f"/r/{token}/").status_code == 200
    login(seed.users["procurement"])
    with app.app_context():
        inv_id = db.session.scalar(select(Invitation.id))
    assert client.post(f"/staff/invitations/{inv_id}/revoke").status_code == 302
    revoked = _neutral_404(app.test_client(), f"/r/{token}/")
    assert wrong == revoked
    # Every portal page, not just the start page.
    assert client.post(f"/r/{token}/submit").status_code == 404


def test_new_invitation_replaces_the_open_one(app, client, seed, login, invite):
    first = invite()
    second = invite()
    assert client.get(f"/r/{first}/").status_code == 404
    assert client.get(f"/r/{second}/").status_code == 200
