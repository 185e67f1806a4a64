"""Invitations go out through a real SMTP server on loopback (aiosmtpd), and still reach the outbox."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from conftest import make_app
from helpers import free_port, token_from_outbox_or_page


def test_invitation_is_sent_by_smtp(backend, tmp_path, request, smtp, password_hash):
    controller, handler = smtp
    app = make_app(backend, tmp_path, request, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    from conftest import TEST_PASSWORD

    seed_ns = _seed(app, request, password_hash)
    client = app.test_client()
    client.post("/login", data={"email": seed_ns.users["procurement"], "password": TEST_PASSWORD})
    eid = seed_ns.engagements[("tamana-city", "cloud")]
    r = client.post(
        f"/staff/engagements/{eid}/invite",
        data={"recipient_name": "山﨑 花子", "recipient_email": "yamasaki@example.jp"}, follow_redirects=True,
    )
    page = r.get_data(as_text=True)
    token = token_from_outbox_or_page(page)
    assert "yamasaki@example.jp にメールを送信しました" in page
    assert len(handler.messages) == 1
    msg = handler.messages[0]
    assert msg["To"] == "yamasaki@example.jp"
    parsed = message_from_bytes(msg.as_bytes(), policy=default_policy)
    body = parsed.get_body().get_content()
    assert f"/r/{token}" in body and "山﨑 花子 様" in body
    assert len(list(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))) == 1


def test_smtp_failure_keeps_the_invitation_and_shows_the_link(backend, tmp_path, request, password_hash):
    from conftest import TEST_PASSWORD

    app = make_app(backend, tmp_path, request, MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    seed_ns = _seed(app, request, password_hash)
    client = app.test_client()
    client.post("/login", data={"email": seed_ns.users["procurement"], "password": TEST_PASSWORD})
    eid = seed_ns.engagements[("tamana-city", "cloud")]
    r = client.post(f"/staff/engagements/{eid}/invite", data={"recipient_email": "a@example.jp"},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "メールサーバーへの送信に失敗しました" in page
    token = token_from_outbox_or_page(page)
    assert client.get(f"/r/{token}/").status_code == 200


def _seed(app, request, password_hash):
    """Run the `seed` fixture's body against this app."""
    from conftest import seed_data

    return seed_data(app, password_hash)
