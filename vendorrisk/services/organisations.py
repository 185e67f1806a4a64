"""Create or update an organisation from its 情報セキュリティ基本方針."""

from __future__ import annotations

from sqlalchemy import select

from ..domain.policy import ParsedPolicy
from ..extensions import db
from ..models import Officer, Organisation
from . import audit

# An organisation's identifier (slug): lower-case letters, digits and hyphens, e.g. tamana-city.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9\-]{1,62}$"


def import_policy_bytes(data: bytes, filename: str, *, slug: str, head_title: str | None = None,
                        actor: audit.Actor = audit.SYSTEM) -> tuple[Organisation, bool]:
    """Read a policy file (text, PDF, HTML, DOCX) and create or update the organisation, without review
    (command line, demo); the reading becomes the edition in force.

    Raises PolicyParseError (Japanese message) when the file or its clause cannot be read."""
    from .policy_import import read_upload, record_direct_import

    source, parsed = read_upload(data, filename)
    org, created = import_policy(parsed, source.text, slug=slug, head_title=head_title, actor=actor)
    record_direct_import(org, parsed, source, filename, data)
    return org, created


def import_policy(parsed: ParsedPolicy, text: str, *, slug: str, head_title: str | None = None,
                  actor: audit.Actor = audit.SYSTEM) -> tuple[Organisation, bool]:
    """Returns (organisation, created)."""
    org = db.session.scalar(select(Organisation).filter_by(slug=slug))
    created = org is None
    if org is None:
        org = Organisation(slug=slug, settings={})
        db.session.add(org)
    clause = parsed.clause
    org.name = parsed.organisation
    org.head_title = head_title or org.head_title or default_head_title(parsed.organisation)
    org.policy_title = parsed.title
    org.policy_text = text
    org.enacted_as_written = parsed.enacted_as_written
    org.enacted_on = parsed.enacted_on
    org.bodies = list(parsed.bodies)
    org.clause_number = clause.number
    org.clause_title = clause.title
    org.clause_paragraphs = {
        "outsourcing": clause.outsourcing,
        "external_services": clause.external_services,
        "social_media": clause.social_media,
    }
    org.obligations = list(clause.obligations)
    db.session.flush()
    audit.record(
        "organisation.import_policy" if not created else "organisation.create",
        "organisation", org.id, organisation_id=org.id, actor=actor,
        data={"policy_title": org.policy_title, "clause_number": org.clause_number},
    )
    return org, created


def find_organisation(slug: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).filter_by(slug=slug))


def organisation_officers(organisation_id: int) -> list[Officer]:
    return list(db.session.scalars(select(Officer).filter_by(organisation_id=organisation_id).order_by(Officer.id)))


def default_head_title(name: str) -> str:
    """甲 as contracts name it: 市 → 市長, 町 → 町長, 村 → 村長, 組合 → 管理者."""
    for suffix, head in (("市", "市長"), ("町", "町長"), ("村", "村長"), ("区", "区長")):
        if name.endswith(suffix):
            return name[: -len(suffix)] + head
    if name.endswith("組合"):
        return f"{name}管理者"
    return name
