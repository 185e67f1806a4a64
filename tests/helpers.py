"""Test helpers that act as a person would: fill every section of the portal through its pages."""

from __future__ import annotations

import re
import socket
from typing import Any

from aiosmtpd.handlers import Message
from flask import Flask
from flask.testing import FlaskClient

from vendorrisk.domain.questionnaire import ANSWER_TYPES, Question
from vendorrisk.extensions import db
from vendorrisk.models import Invitation
from vendorrisk.services.definitions import invitation_questionnaires
from vendorrisk.services.invitations import invitation_for_token
from vendorrisk.web.answer_forms import field_name

PEOPLE = {
    "responsible_manager": {
        "name": "髙橋 𠮷男",
        "title": "業務責任者",
        "department": "公共システム部",
        "email": "takahashi@example.jp",
        "phone": "03-1111-2222",
    },
    "security_officer": {
        "name": "山﨑 花子",
        "title": "情報セキュリティ責任者",
        "department": "品質管理部",
        "email": "yamasaki@example.jp",
        "phone": "03-1111-3333",
    },
}


def token_from_outbox_or_page(html: str) -> str:
    match = re.search(r"/r/([A-Za-z0-9_\-]{40,})", html)
    assert match, "the invitation page shows the link"
    return match.group(1)


def good_value(q: Question) -> Any:
    if q.type == "yesno":
        return "yes"
    if q.type == "single":
        return max(q.options, key=lambda o: o.score).value
    if q.type == "multi":
        return [o.value for o in q.options if o.score > 0][:2] or [q.options[0].value]
    if q.type == "date":
        return "令和9年3月31日"
    if q.type == "number":
        return "１００"
    if q.type == "text":
        if q.id.endswith("work_site"):
            return "熊本県玉名市岩崎163 本社3階 開発室"
        if q.id.endswith("data_storage_site"):
            return "日本国内データセンター（福岡市）"
        return "規程を定めて実施しています。"
    return None


def form_data_for(questions: list[Question], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The POST body a person produces by filling the section page well."""
    overrides = overrides or {}
    data: dict[str, Any] = {"action": "continue", "section_done": "yes"}
    for q in questions:
        name = field_name(q.id)
        if q.id in overrides:
            value = overrides[q.id]
            if isinstance(value, dict):
                for k, v in value.items():
                    data[f"{name}-{k}"] = v
            else:
                data[name] = value
            continue
        if q.type == "person":
            person = PEOPLE["security_officer"] if q.id.endswith("security_officer") else PEOPLE["responsible_manager"]
            for k, v in person.items():
                data[f"{name}-{k}"] = v
        elif q.type == "group":
            if q.id.endswith("accounts.list"):
                row = {
                    "service": "X（旧Twitter）",
                    "account": "@tamana_koho",
                    "section": "秘書広報課",
                    "owner": "広報 花子",
                }
            else:
                row = {"name": "株式会社したうけ", "address": "福岡県福岡市博多区1-1", "scope": "データセンターの運用"}
            for f in q.fields:
                if f.type in ("single", "yesno"):
                    row.setdefault(f.id, ANSWER_TYPES[f.type].choices(f)[0].value)
                elif f.type == "multi":
                    row.setdefault(f.id, f.options[0].value)
                else:
                    row.setdefault(f.id, "記入例")
            for k, v in row.items():
                data[f"{name}-0-{k}"] = v
        elif q.type == "file":
            continue
        else:
            value = good_value(q)
            if value is not None:
                data[name] = value
    for q in questions:  # a 補足 the bank requires for the answer given (「一部」 …) is written
        if q.note_required(data.get(field_name(q.id))):
            data.setdefault(field_name(q.id) + "__note", "補足の記入例：状況を説明します。")
    return data


def portal_sections(app: Flask, token: str) -> list[tuple[str, str, list[Question]]]:
    """(questionnaire id, section id, applicable questions) for each section page of the portal."""
    with app.app_context():
        invitation = invitation_for_token(token)
        profile = invitation.engagement.profile()
        out = []
        for q in invitation_questionnaires(invitation):
            applicable = {x.id for x in q.applicable(profile)}
            for s in q.sections:
                questions = [x for x in s.questions if x.id in applicable]
                if questions:
                    out.append((q.id, s.id, questions))
        db.session.remove()
    return out


def answer_all(app: Flask, client: FlaskClient, token: str, overrides: dict[str, Any] | None = None) -> None:
    """Walk every section page of the portal, filling it well, as a contractor would."""
    for qid, sid, questions in portal_sections(app, token):
        url = f"/r/{token}/s/{qid}/{sid}"
        page = client.get(url)
        assert page.status_code == 200, url
        response = client.post(url, data=form_data_for(questions, overrides))
        assert response.status_code == 302, (url, response.get_data(as_text=True)[:2000])


def invitation_of(app: Flask, token: str) -> Invitation:
    with app.app_context():
        return invitation_for_token(token)


def free_port() -> int:
    """A loopback port nobody listens on (for a test server, or a closed port to fail against)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CollectMail(Message):
    """An aiosmtpd handler keeping every message the real SMTP server on loopback receives."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:  # type: ignore[override]
        self.messages.append(message)
