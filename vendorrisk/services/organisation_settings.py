"""An organisation's own settings: rating thresholds, how its annexes are written (甲's address and
head, heading and digit style, the document for a low-sensitivity cloud service), changes to the annex
articles, the 開庁日 calendar and reminder days, the contact that signs its mails, its mail templates,
and the edition of the national guideline its questionnaires cite."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from flask import current_app, has_app_context

from ..domain.annex import CLOUD_LOW_DOCUMENTS, DIGIT_STYLES, HEADING_STYLES, check_overrides
from ..domain.business_days import OfficeCalendar
from ..domain.mail_templates import MAIL_KINDS
from ..domain.mail_templates import check as check_template
from ..domain.vocabulary import DEFAULT_GUIDELINE_EDITION, GUIDELINE_EDITION_MAX
from ..models import Organisation
from . import audit

#: The annex settings (stored as settings["annex_<key>"]; services.annexes reads them) and their choices.
ANNEX_STYLE_CHOICES: dict[str, tuple[str, ...]] = {
    "heading_style": HEADING_STYLES,
    "digit_style": DIGIT_STYLES,
    "cloud_low_document": CLOUD_LOW_DOCUMENTS,
}
ANNEX_TEXT_SETTINGS = ("address", "head_name")
ANNEX_TEXT_MAX = {"address": 200, "head_name": 100, "head_title": 100}


class SettingsRefused(ValueError):
    """A value the annex cannot use (message in Japanese)."""


def annex_settings(org: Organisation) -> dict[str, str]:
    """The organisation's annex settings as shown on the admin page (the first choice when unset)."""
    settings = org.settings or {}
    values = {key: str(settings.get(f"annex_{key}") or choices[0]) for key, choices in ANNEX_STYLE_CHOICES.items()}
    values.update({key: str(settings.get(f"annex_{key}") or "") for key in ANNEX_TEXT_SETTINGS})
    values["head_title"] = org.head_title or ""
    return values


def save_annex_settings(org: Organisation, values: dict[str, str], *, actor: audit.Actor) -> None:
    """甲's head (title and name) and address, and how the annex is written; used for annexes issued
    from now on (issued versions keep their snapshot)."""
    for key, choices in ANNEX_STYLE_CHOICES.items():
        if values.get(key) not in choices:
            raise SettingsRefused(f"{key} は {', '.join(choices)} のいずれかにしてください。")
    head_title = (values.get("head_title") or "").strip()
    if not head_title:
        raise SettingsRefused("団体の長の職名を入力してください。")
    for key, limit in ANNEX_TEXT_MAX.items():
        if len((values.get(key) or "").strip()) > limit:
            raise SettingsRefused(f"{limit}文字以内で入力してください。")
    before = annex_settings(org)
    for key in ANNEX_STYLE_CHOICES:
        org.settings[f"annex_{key}"] = values[key]
    for key in ANNEX_TEXT_SETTINGS:
        org.settings[f"annex_{key}"] = (values.get(key) or "").strip()
    org.head_title = head_title
    after = annex_settings(org)
    audit.record("organisation.annex_settings", "organisation", org.id, organisation_id=org.id, actor=actor,
                 data={k: after[k] for k in after if after[k] != before[k]})


class SettingRefused(Exception):
    """A setting cannot be saved; the message is Japanese and safe to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def guideline_edition(org: Organisation) -> str:
    """The edition of the guideline cited beside every guideline reference (「令和7年3月版」)."""
    return str((org.settings or {}).get("guideline_edition") or DEFAULT_GUIDELINE_EDITION)


def save_guideline_edition(org: Organisation, edition: str, *, actor: audit.Actor) -> None:
    """Set the edition the organisation follows; blank goes back to the default."""
    edition = " ".join((edition or "").split())
    if len(edition) > GUIDELINE_EDITION_MAX:
        raise SettingRefused(f"版は{GUIDELINE_EDITION_MAX}文字以内で入力してください。")
    previous = guideline_edition(org)
    if edition and edition != DEFAULT_GUIDELINE_EDITION:
        org.settings["guideline_edition"] = edition
    else:
        org.settings.pop("guideline_edition", None)
    audit.record("organisation.guideline_edition", "organisation", org.id, organisation_id=org.id, actor=actor,
                 data={"edition": guideline_edition(org), "previous": previous})


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
