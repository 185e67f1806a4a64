"""Every mail to a contractor comes from the organisation's editable template, signed with its contact
and sent from its address: the handover, the receipt of the answers, the clarification request and the
是正事項 of a conditional approval, as well as the invitation and the reminders (test_reminders). The
colleague the answering was handed to gets the receipt and the reminders too. Through the pages."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from helpers import answer_all
from sqlalchemy import select
from test_reminders import _at, _invitation_sent_on, _send
from test_reminders import mail_app as mail_app  # the fixture
from test_review_loop import ISMS, _ask

from vendorrisk.extensions import db
from vendorrisk.models import Invitation
from vendorrisk.services.unit_of_work import unit_of_work
from vendorrisk.web.answer_forms import field_name

SENDER = "joho@city.tamana.example.jp"
SIGNATURE = "玉名市 総務部 情報政策課\n熊本県玉名市岩崎163\n電話 0968-75-1111"
EDITED = {
    "handover": "{{ delegate_name }} 様へ（{{ recipient_name }} 様から）\n{{ link }}\n期限 {{ due_date }}",
    "submitted": "{{ recipient_name }} 様\n受付番号 {{ receipt_number }}／{{ submitted_at }}",
    "clarification": "{{ recipient_name }} 様\n{% for item in asked %}問：{{ item.question }}／{{ item.request }}\n"
                     "{% endfor %}期限 {{ due_date }}",
    "remediation": "{{ recipient_name }} 様\n{% for item in remediations %}是正：{{ item.obligation }}"
                   "（{{ item.deadline }}まで）\n{% endfor %}",
}


def _outbox(app) -> list:
    return [message_from_bytes(p.read_bytes(), policy=default_policy)
            for p in sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"), key=lambda p: p.stat().st_mtime)]


def _edited(app, kind: str) -> list:
    return [m for m in _outbox(app) if str(m["Subject"]).startswith(f"［編集］{kind}")]


def test_each_contractor_mail_is_the_organisations_edited_template(app, client, seed, login, invite):
    login(seed.users["admin"])
    r = client.post("/admin/deadlines", data={
        "open_days": "10", "remind_before": "3", "remind_after": "1", "closure_days": "",
        "department": "総務部 情報政策課", "phone": "0968-75-1111", "address": "熊本県玉名市岩崎163", "sender": SENDER})
    assert r.status_code == 302
    for kind, body in EDITED.items():
        r = client.post(f"/admin/mail/{kind}", data={
            "subject": f"［編集］{kind}：{{{{ engagement_title }}}}",
            "body": body + "\n問合せ {{ contact }}\n{{ signature }}\n", "action": "save"})
        assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    client.post("/logout")
    eid = seed.engagements[("tamana-city", "outsourcing")]
    token = invite(recipient_name="山崎 一郎", contact_department="総務課 契約係", contact_phone="0968-11-2222")

    # The handover: to the colleague only, greeting them, with the link.
    r = client.post(f"/r/{token}/handover", data={"delegate_name": "佐藤 花子", "delegate_email": "sato@example.jp"})
    assert r.status_code == 302
    (handover,) = _edited(app, "handover")
    text = handover.get_body().get_content()
    assert handover["To"] == "sato@example.jp" and handover["From"] == SENDER
    assert "佐藤 花子 様へ（山崎 一郎 様から）" in text and f"/r/{token}" in text
    assert "問合せ 担当課：総務課 契約係" in text and "0968-11-2222" in text and SIGNATURE in text

    # The receipt: to both, each greeted by name, with the reference number.
    answer_all(app, client, token, {ISMS: "partial"})
    assert client.post(f"/r/{token}/submit").status_code == 302
    receipts = {m["To"]: m.get_body().get_content() for m in _edited(app, "submitted")}
    assert set(receipts) == {"a@example.jp", "sato@example.jp"}
    assert receipts["a@example.jp"].startswith("山崎 一郎 様\n受付番号 ") and "令和" in receipts["a@example.jp"]
    assert receipts["sato@example.jp"].startswith("佐藤 花子 様\n受付番号 ")
    assert SIGNATURE in receipts["sato@example.jp"]

    # The clarification request: the question and what is asked.
    login(seed.users["reviewer"])
    _ask(client, eid, ISMS, "認証範囲に<本業務>の拠点が含まれるか書いてください。")
    client.post("/logout")
    asked = _edited(app, "clarification")
    assert {m["To"] for m in asked} == {"a@example.jp", "sato@example.jp"}
    text = asked[0].get_body().get_content()
    assert "／認証範囲に<本業務>の拠点が含まれるか書いてください。" in text and "問：" in text and "期限 令和" in text

    # The 是正事項 of a conditional approval, with their deadlines in the one date style.
    r = client.post(f"/r/{token}/clarification", data={
        field_name(ISMS): "yes", f"reply_{field_name(ISMS)}": "含まれます。", "action": "resubmit"})
    assert r.status_code == 302
    login(seed.users["reviewer"])
    r = client.post(f"/staff/engagements/{eid}/review", data={
        "decision": "conditional", "note": "研修記録の整備を条件に承認します。",
        "remediations-0-use": "y", "remediations-0-obligation": "研修の記録を整備すること",
        "remediations-0-open_days": "10"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    notices = _edited(app, "remediation")
    assert {m["To"] for m in notices} == {"a@example.jp", "sato@example.jp"}
    text = notices[0].get_body().get_content()
    assert "是正：研修の記録を整備すること（令和" in text and "日（" in text and notices[0]["From"] == SENDER
    # Nothing left from the fixed wording of before.
    assert not [m for m in _outbox(app) if "【玉名市】" in str(m["Subject"]) and m["To"] == "sato@example.jp"]


def test_the_colleague_the_answering_was_handed_to_is_reminded_too(mail_app):
    app, ns, handler = mail_app
    eid = ns.engagements[("tamana-city", "cloud")]
    invitation_id = _invitation_sent_on(app, eid, _at(2027, 1, 4, 9, 0), dt.date(2027, 1, 15))
    with app.app_context(), unit_of_work():
        from vendorrisk.services.invitations import hand_over

        hand_over(db.session.get(Invitation, invitation_id), name="佐藤 花子", email="sato@example.jp",
                  link="https://example.jp/r/x")
    assert "sent: 2 mails" in _send(app, _at(2027, 1, 12, 9, 0))
    assert "sent: 0 mails" in _send(app, _at(2027, 1, 13, 9, 0))
    greetings = {m["To"]: message_from_bytes(m.as_bytes(), policy=default_policy).get_body().get_content()
                 .splitlines()[0] for m in handler.messages}
    assert greetings == {"yamasaki@example.jp": "山崎 一郎 様", "sato@example.jp": "佐藤 花子 様"}
    with app.app_context():
        assert db.session.scalar(select(Invitation.delegate_email)) == "sato@example.jp"
