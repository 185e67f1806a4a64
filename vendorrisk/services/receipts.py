"""After a submission: the reference number, the receipt (a PDF of all answers, in the annex's
fonts) and the confirmation mail."""

from __future__ import annotations

from dataclasses import dataclass

from ..adapters.mail import DeliveryResult
from ..domain import questionnaire as qdef
from ..domain.wareki import date_time
from ..models import Invitation, Response
from .answers import value_digest, visible_ids
from .definitions import invitation_questionnaires
from .invitations import contact_of, send_after_commit
from .mails import contractor_mails
from .unit_of_work import Pending


def receipt_number(response: Response) -> str:
    """「OUT-1-00012-3FA2」: the engagement's reference, the response, and the start of the answers'
    fingerprint (so a number read out on the phone also checks which answers were received)."""
    invitation = response.invitation
    digest = (response.answers_sha256 or "").upper()[:4]
    return f"{invitation.engagement.reference}-{response.id:05d}-{digest}"


@dataclass(frozen=True)
class AnswerRow:
    question: qdef.Question
    text: str  # the question as the organisation words it
    display: str
    carried_over: bool = False


@dataclass(frozen=True)
class AnswerSection:
    questionnaire: qdef.Questionnaire
    section: qdef.Section
    rows: list[AnswerRow]


def answer_sections(invitation: Invitation) -> list[AnswerSection]:
    """Every shown question of the invitation with its answer as the contractor reads it, by section."""
    response = invitation.response
    assert response is not None
    given = response.answer_map()
    shown = visible_ids(invitation, given)
    organisation = invitation.engagement.organisation
    carried = response.carried_over or {}
    out = []
    for questionnaire in invitation_questionnaires(invitation):
        for section in questionnaire.sections:
            rows = [
                AnswerRow(q, organisation.localize(q.text_ja),
                          qdef.ANSWER_TYPES[q.type].display(q, given.get(q.id)),
                          q.id in carried and carried[q.id].get("digest") == value_digest(given.get(q.id)))
                for q in section.questions if q.id in shown
            ]
            if rows:
                out.append(AnswerSection(questionnaire, section, rows))
    return out


def receipt_pdf(invitation: Invitation) -> bytes:
    """The receipt of a submitted response: every answer, in Japanese, through the annex renderer
    (same fonts, same URL fetcher)."""
    from .annexes import renderer

    response = invitation.response
    assert response is not None and response.state == "submitted"
    pdf = renderer()
    html = pdf.env.get_template("receipt/receipt.html").render(
        fonts=pdf.fonts, invitation=invitation, engagement=invitation.engagement, response=response,
        number=receipt_number(response), sections=answer_sections(invitation), contact=contact_of(invitation),
        submitted=date_time(response.submitted_at),
    )
    return bytes(pdf.pdf_from_html(html, identifier=f"receipt-{response.id}"))


def confirmation_mail_after_commit(invitation: Invitation) -> list[Pending[DeliveryResult]]:
    """The 「回答を受け付けました」 mail to the recipient (and the colleague it was handed to)."""
    response = invitation.response
    assert response is not None
    mails = contractor_mails(invitation, "submitted", {
        "receipt_number": receipt_number(response), "submitted_at": date_time(response.submitted_at),
    })
    return [send_after_commit(mail, key=f"mail:submitted:{response.id}:{n}",
                              organisation_id=invitation.engagement.organisation_id)
            for n, mail in enumerate(mails)]
