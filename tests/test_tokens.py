"""Invitation tokens: 256-bit, stored hashed; wrong, expired and revoked all get the same neutral 404."""

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


def test_wrong_expired_and_revoked_tokens_look_the_same(app, client, seed, login, invite):
    token = invite()
    wrong = _neutral_404(app.test_client(), "/r/" + "A" * 43 + "/")
    with app.app_context():
        inv = db.session.scalar(select(Invitation))
        inv.expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    expired = _neutral_404(app.test_client(), f"/r/{token}/")
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
    assert wrong == expired == revoked
    # Every portal page, not just the start page.
    assert client.post(f"/r/{token}/submit").status_code == 404


def test_new_invitation_replaces_the_open_one(app, client, seed, login, invite):
    first = invite()
    second = invite()
    assert client.get(f"/r/{first}/").status_code == 404
    assert client.get(f"/r/{second}/").status_code == 200
