"""An organisation's own settings: rating thresholds and changes to the annex articles."""

from __future__ import annotations

from typing import Any

from ..domain.annex import check_overrides
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
