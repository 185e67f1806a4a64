"""An organisation's own settings: rating thresholds, changes to the annex articles, the 開庁日
calendar and reminder days, the contact that signs its mails, and its mail templates."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from flask import current_app, has_app_context

from ..domain.annex import check_overrides
from ..domain.business_days import OfficeCalendar
from ..domain.mail_templates import MAIL_KINDS
from ..domain.mail_templates import check as check_template
from ..models import Organisation
from . import audit


def article_overrides(org: Organisation) -> dict[str, Any]:
    return dict((org.settings or {}).get("articles_override") or {})


def save_thresholds(org: Organisation, thresholds: dict[str, dict[str, float]], *, actor: audit.Actor) -> None:
    """Used for the next submissions (assessments already made keep their rating)."""
    org.settings["thresholds"] = thresholds
    audit.record("organisation.thresholds", "organisation", org.id, organisation_id=org.id, actor=actor,
                 data=thresholds)


def override_article(org: Organisation, key: str, change: dict[str, Any], *, actor: audit.Actor) -> None:
    """Replace or omit one article; raises AnnexCompositionError (Japanese) when it would not compose."""
    candidate = {**article_overrides(org), key: change}
    check_overrides(candidate)
    org.settings["articles_override"] = candidate
    audit.record("organisation.article_override", "organisation", org.id, organisation_id=org.id, actor=actor,
                 data={"article": key, "change": change})


def reset_article(org: Organisation, key: str, *, actor: audit.Actor) -> bool:
    """Back to the standard text; False when the article was not changed."""
    overrides = article_overrides(org)
    if overrides.pop(key, None) is None:
        return False
    org.settings["articles_override"] = overrides
    audit.record("organisation.article_reset", "organisation", org.id, organisation_id=org.id, actor=actor,
                 data={"article": key})
    return True


# --- deadlines (開庁日), reminders, the organisation's contact and its mail templates -----------

DEFAULT_OPEN_DAYS = 10  # the config INVITATION_DAYS, when set, is the default of organisations without one
DEFAULT_REMIND_BEFORE = 3
DEFAULT_REMIND_AFTER = 1


@dataclass(frozen=True)
class DeadlineSettings:
    open_days: int = DEFAULT_OPEN_DAYS  # the invitation form's default deadline, in 開庁日
    remind_before: int = DEFAULT_REMIND_BEFORE  # 開庁日 before the deadline (0 = no reminder)
    remind_after: int = DEFAULT_REMIND_AFTER  # 開庁日 after the deadline (0 = no reminder)
    closure_days: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class Contact:
    department: str = ""
    phone: str = ""
    address: str = ""
    sender: str = ""  # the From address of the organisation's mails ("" = MAIL_SENDER)


def deadline_settings(org: Organisation) -> DeadlineSettings:
    raw = dict((org.settings or {}).get("deadlines") or {})
    default_days = int(current_app.config.get("INVITATION_DAYS") or DEFAULT_OPEN_DAYS) if has_app_context() else 10
    return DeadlineSettings(
        open_days=int(raw.get("open_days", default_days)),
        remind_before=int(raw.get("remind_before", DEFAULT_REMIND_BEFORE)),
        remind_after=int(raw.get("remind_after", DEFAULT_REMIND_AFTER)),
        closure_days=tuple(sorted(dt.date.fromisoformat(d) for d in raw.get("closure_days", []))),
    )


def office_calendar(org: Organisation) -> OfficeCalendar:
    """The organisation's 開庁日: the national rules plus its own closure days."""
    return OfficeCalendar.of(deadline_settings(org).closure_days)


def contact(org: Organisation) -> Contact:
    raw = dict((org.settings or {}).get("contact") or {})
    return Contact(**{k: str(raw.get(k) or "") for k in ("department", "phone", "address", "sender")})


def signature(org: Organisation) -> str:
    """The mails' signature: the organisation with its department, address and phone, not a bare name."""
    info = contact(org)
    lines = [f"{org.name} {info.department}".strip()]
    if info.address:
        lines.append(info.address)
    if info.phone:
        lines.append(f"電話 {info.phone}")
    return "\n".join(lines)


def save_deadlines(org: Organisation, settings: DeadlineSettings, info: Contact, *, actor: audit.Actor) -> None:
    """The 開庁日 calendar, the reminder days and the contact used to sign mails."""
    deadlines = {
        "open_days": settings.open_days, "remind_before": settings.remind_before,
        "remind_after": settings.remind_after,
        "closure_days": sorted({d.isoformat() for d in settings.closure_days}),
    }
    org.settings["deadlines"] = deadlines
    org.settings["contact"] = asdict(info)
    audit.record("organisation.deadlines", "organisation", org.id, organisation_id=org.id, actor=actor,
                 data={**deadlines, "contact": asdict(info)})


def mail_template(org: Organisation, kind: str) -> tuple[str, str, bool]:
    """(subject, body, edited) of one mail kind: the organisation's edit, else the default."""
    default = MAIL_KINDS[kind]
    edited = dict((org.settings or {}).get("mail_templates") or {}).get(kind)
    if edited:
        return str(edited["subject"]), str(edited["body"]), True
    return default.subject, default.body, False


def save_mail_template(org: Organisation, kind: str, subject: str, body: str, *, actor: audit.Actor) -> None:
    """Raises MailTemplateError (Japanese) when the template does not render."""
    check_template(kind, subject, body)
    templates = dict((org.settings or {}).get("mail_templates") or {})
    templates[kind] = {"subject": subject, "body": body}
    org.settings["mail_templates"] = templates
    audit.record("organisation.mail_template", "organisation", org.id, organisation_id=org.id, actor=actor,
                 data={"kind": kind, "subject": subject, "body": body})


def reset_mail_template(org: Organisation, kind: str, *, actor: audit.Actor) -> bool:
    templates = dict((org.settings or {}).get("mail_templates") or {})
    if templates.pop(kind, None) is None:
        return False
    org.settings["mail_templates"] = templates
    audit.record("organisation.mail_template_reset", "organisation", org.id, organisation_id=org.id, actor=actor,
                 data={"kind": kind})
    return True
