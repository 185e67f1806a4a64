"""Clarification: the reviewer asks about chosen questions; only those reopen for the contractor.

One thread per question (reviewer ↔ contractor, each message with its author and time). The
contractor's link (the same one, or a new one if it expired) opens a page listing what was asked;
every other answer stays as submitted. Resubmitting scores the answers again, and the reviewer sees
what changed since the last submission.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..domain import questionnaire as qdef
from ..domain.wareki import long_date
from ..extensions import db
from ..models import (
    Assessment,
    Clarification,
    ClarificationMessage,
    Engagement,
    Invitation,
    Response,
    StateError,
    User,
)
from . import audit
from .invitations import renew_link, send_after_commit
from .mails import contractor_mails
from .review import office_calendar, today_jst

MAX_MESSAGE = 2000
MAX_OPEN_DAYS = 60


def threads(response: Response) -> dict[str, Clarification]:
    """The response's clarification threads by question id."""
    rows = db.session.scalars(select(Clarification).filter_by(response_id=response.id).order_by(Clarification.id))
    return {row.question_id: row for row in rows}


def request_clarification(assessment: Assessment, questions: dict[str, str], open_days: int, user: User,
                          known: dict[str, qdef.Question]) -> tuple[list[Clarification], str | None]:
    """Ask about `questions` (question id → what is missing) with an answer due in `open_days` 開庁日.

    Only those questions reopen; the mail says what was asked and by when."""
    engagement = db.session.get(Engagement, assessment.engagement_id)
    assert engagement is not None
    if engagement.organisation_id != user.organisation_id:
        raise StateError("他の団体の案件は審査できません。")
    if assessment.decision is not None or engagement.state != "submitted":
        raise StateError("審査待ちの回答についてだけ、確認を依頼できます。")
    if not questions:
        raise StateError("確認したい設問を1つ以上選び、足りない点を書いてください。")
    unknown = set(questions) - set(known)
    if unknown:
        raise StateError("選んだ設問が見つかりません。画面を再読み込みしてください。")
    if not 1 <= open_days <= MAX_OPEN_DAYS:
        raise StateError(f"回答期限は1〜{MAX_OPEN_DAYS}開庁日の範囲で入力してください。")
    response = assessment.response
    invitation = db.session.get(Invitation, response.invitation_id)
    assert invitation is not None
    due = office_calendar(engagement.organisation).add_open_days(today_jst(), open_days)
    existing = threads(response)
    asked = []
    for qid, text in questions.items():
        thread = existing.get(qid) or Clarification(response_id=response.id, question_id=qid)
        thread.state, thread.due_on = "open", due
        thread.messages.append(ClarificationMessage(author="reviewer", user_id=user.id, author_name=user.name,
                                                    body=text.strip()[:MAX_MESSAGE]))
        db.session.add(thread)
        asked.append(thread)
    response.reopen(list(questions))
    engagement.move_to("clarification")
    link = renew_link(invitation, due)
    db.session.flush()
    audit.record("clarification.request", "response", response.id, organisation_id=engagement.organisation_id,
                 actor=user, data={"questions": sorted(questions), "due_on": due.isoformat(), "new_link": bool(link)})
    org = engagement.organisation
    mails = contractor_mails(invitation, "clarification", {
        "asked": [{"question": org.localize(known[t.question_id].text_ja), "request": t.messages[-1].body}
                  for t in asked],
        "due_date": long_date(due), "link": link or "", "link_until": long_date(invitation.usable_until),
    })
    for n, mail in enumerate(mails):
        send_after_commit(mail, key=f"mail:clarification:{response.id}:{assessment.id}" + (f":{n}" if n else ""),
                          organisation_id=engagement.organisation_id)
    return asked, link


def reply(invitation: Invitation, replies: dict[str, str]) -> None:
    """The contractor's messages on the threads of the reopened questions (empty ones are skipped)."""
    response = invitation.response
    assert response is not None
    response.ensure_editable()
    open_threads = threads(response)
    name = invitation.recipient_name or invitation.engagement.vendor.name
    for qid, text in replies.items():
        thread = open_threads.get(qid)
        if thread is None or qid not in (response.reopened_questions or []) or not text.strip():
            continue
        thread.messages.append(ClarificationMessage(author="contractor", author_name=name,
                                                    body=text.strip()[:MAX_MESSAGE]))
    db.session.flush()


def mark_answered(response: Response, question_ids: list[str]) -> None:
    for qid, thread in threads(response).items():
        if qid in question_ids:
            thread.state = "answered"


def due_date(response: Response) -> dt.date | None:
    dates = [t.due_on for t in threads(response).values() if t.state == "open"]
    return min(dates) if dates else None
