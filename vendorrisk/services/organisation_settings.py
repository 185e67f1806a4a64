"""An organisation's own settings: rating thresholds, changes to the annex articles, and the edition of
the national guideline its questionnaires cite."""

from __future__ import annotations

from typing import Any

from ..domain.annex import check_overrides
from ..domain.vocabulary import DEFAULT_GUIDELINE_EDITION, GUIDELINE_EDITION_MAX
from ..models import Organisation
from . import audit


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
