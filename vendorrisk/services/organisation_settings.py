"""An organisation's own settings: rating thresholds, how its annexes are written (甲's address and
head, heading and digit style, the document for a low-sensitivity cloud service) and changes to the
annex articles."""

from __future__ import annotations

from typing import Any

from ..domain.annex import CLOUD_LOW_DOCUMENTS, DIGIT_STYLES, HEADING_STYLES, check_overrides
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
