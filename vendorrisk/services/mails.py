"""The mails to people: each from its organisation's editable template (`domain.mail_templates`),
signed with the organisation's contact and sent from its sender address.

`compose` renders one kind for one organisation; `contractor_mails` builds the mails of one kind to
the contractor of an invitation: its recipient, and the colleague the answering was handed to.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..adapters.mail import OutgoingMail
from ..domain.mail_templates import MAIL_KINDS, MailTemplateError, render
from ..domain.wareki import long_date
from ..models import Invitation, Organisation
from . import organisation_settings


def compose(org: Organisation, kind: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) from the organisation's template for `kind` (its default if the edit fails)."""
    subject, body, edited = organisation_settings.mail_template(org, kind)
    values = {"organisation_name": org.name, **context}
    signature = organisation_settings.signature(org)
    try:
        return render(subject, body, values, signature=signature)
    except MailTemplateError:
        if not edited:
            raise
        current_app.logger.warning("mail template %s of %s does not render: the default is used", kind, org.slug)
        default = MAIL_KINDS[kind]
        return render(default.subject, default.body, values, signature=signature)


def sender_of(org: Organisation) -> str:
    return organisation_settings.contact(org).sender or str(current_app.config["MAIL_SENDER"])


def contact_line(invitation: Invitation) -> str:
    """The officer to ask, on one line (担当課・担当者・電話番号・メールアドレス)."""
    from .invitations import contact_of

    return "、".join(f"{label}：{value}" for label, value in contact_of(invitation).rows())


def contractor_context(invitation: Invitation, name: str = "") -> dict[str, Any]:
    """What every mail to a contractor may say: whom it greets (`name`, else the recipient named on
    the invitation, else the vendor), which engagement, the deadline, whom to ask."""
    engagement = invitation.engagement
    return {
        "recipient_name": name or invitation.recipient_name or engagement.vendor.name,
        "vendor_name": engagement.vendor.name, "engagement_title": engagement.title,
        "engagement_reference": engagement.reference, "due_date": long_date(invitation.due_date),
        "contact": contact_line(invitation),
    }


def contractor_addressees(invitation: Invitation) -> list[tuple[str, str]]:
    """(address, name) of the recipient, and of the colleague the answering was handed to (each once)."""
    out = {invitation.recipient_email: invitation.recipient_name or ""}
    if invitation.delegate_email:
        out.setdefault(invitation.delegate_email, invitation.delegate_name or "")
    return [(address, name) for address, name in out.items() if address]


def contractor_mails(invitation: Invitation, kind: str, extra: dict[str, Any] | None = None,
                     to: list[str] | None = None) -> list[OutgoingMail]:
    """One mail of `kind` to each contractor addressee (or to the addresses `to`), from the
    organisation's template, each greeting its reader."""
    org = invitation.engagement.organisation
    names = dict(contractor_addressees(invitation))
    mails = []
    for address in to if to is not None else list(names):
        subject, body = compose(org, kind, {**contractor_context(invitation, names.get(address, "")), **(extra or {})})
        mails.append(OutgoingMail(to=address, subject=subject, body=body, sender=sender_of(org)))
    return mails
