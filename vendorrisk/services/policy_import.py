"""Importing a policy in two steps: read it into a draft edition, then an admin accepts or corrects it.

Nothing from a refused file is stored: the file is read and parsed (bounded, see
``domain.policy.Limits``) before any row is added. A draft holds what the parser read
(``parsed``) and what will be used (``fields``); corrections are recorded field by field with who
made them and why. Accepting a draft updates the organisation and makes it the edition in force;
every invitation links to the edition in force when it was sent (a ``before_flush`` hook below).
These functions flush but never commit: the caller owns the unit of work.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ..domain.policy import (
    PARAGRAPH_KEYS,
    PARAGRAPH_LABELS,
    ParsedClause,
    ParsedPolicy,
    SourceText,
    parse_policy_source,
    read_policy_bytes,
)
from ..domain.policy.clause import obligations as obligations_for
from ..extensions import db
from ..models import Invitation, InvitationPolicyEdition, Organisation, PolicyEdition, User, utcnow
from . import audit

#: The fields an admin confirms, in the order shown, with their labels.
FIELD_LABELS: dict[str, str] = {
    "organisation": "団体名",
    "title": "方針の名称",
    "enacted_as_written": "制定・改定（記載のとおり）",
    "enacted_on": "制定・改定日",
    "bodies": "対象機関",
    "clause.number_full": "引用する条項の番号",
    "clause.title": "条項の表題",
    **{f"clause.paragraphs.{k}": f"段落：{PARAGRAPH_LABELS[k]}" for k in PARAGRAPH_KEYS},
}


class PolicyImportError(ValueError):
    """A state the flow refuses (message in Japanese)."""


# ---------------------------------------------------------------------------
# Fields: what the application uses from an edition
# ---------------------------------------------------------------------------


def fields_from_parsed(parsed: ParsedPolicy) -> dict[str, Any]:
    clause = parsed.clause
    return {
        "organisation": parsed.organisation,
        "title": parsed.title,
        "enacted_as_written": parsed.enacted_as_written,
        "enacted_on": parsed.enacted_on.isoformat() if parsed.enacted_on else None,
        "bodies": list(parsed.bodies),
        "clause": {
            "number": clause.number,
            "number_full": clause.number_full or clause.number,
            "title": clause.title,
            "paragraphs": clause.paragraphs(),
            "obligations": list(clause.obligations),
        },
    }


def fields_from_organisation(org: Organisation) -> dict[str, Any]:
    return {
        "organisation": org.name,
        "title": org.policy_title,
        "enacted_as_written": org.enacted_as_written,
        "enacted_on": org.enacted_on.isoformat() if org.enacted_on else None,
        "bodies": list(org.bodies or []),
        "clause": {
            "number": org.clause_number,
            "number_full": org.clause_number,
            "title": org.clause_title,
            "paragraphs": {k: (org.clause_paragraphs or {}).get(k) for k in PARAGRAPH_KEYS},
            "obligations": list(org.obligations or []),
        },
    }


def field_value(fields: dict[str, Any], key: str) -> Any:
    value: Any = fields
    for part in key.split("."):
        value = (value or {}).get(part)
    return value


def _set_field(fields: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    target = fields
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def parsed_policy_from_fields(fields: dict[str, Any]) -> ParsedPolicy:
    clause = fields["clause"]
    paragraphs = clause["paragraphs"]
    enacted = fields.get("enacted_on")
    return ParsedPolicy(
        organisation=fields["organisation"],
        title=fields["title"],
        enacted_as_written=fields.get("enacted_as_written"),
        enacted_on=dt.date.fromisoformat(enacted) if enacted else None,
        bodies=tuple(fields.get("bodies") or ()),
        clause=ParsedClause(
            number=clause["number_full"],
            title=clause["title"],
            outsourcing=paragraphs.get("outsourcing"),
            external_services=paragraphs.get("external_services"),
            social_media=paragraphs.get("social_media"),
            obligations=tuple(clause.get("obligations") or ()),
            number_full=clause["number_full"],
        ),
    )


# ---------------------------------------------------------------------------
# Reading a file into a draft
# ---------------------------------------------------------------------------


def read_upload(data: bytes, filename: str) -> tuple[SourceText, ParsedPolicy]:
    """Read and parse an upload; raises PolicyParseError (Japanese) and stores nothing."""
    source = read_policy_bytes(data, filename)
    return source, parse_policy_source(source)


def _draft_edition(data: bytes, filename: str, source: Any, parsed: Any, *, fields: dict[str, Any], slug: str,
                   organisation_id: int | None, owner_id: int, user: User | None) -> PolicyEdition:
    """A draft edition of what was read from `data` (the review page shows it before it is used)."""
    return PolicyEdition(
        organisation_id=organisation_id,
        owner_organisation_id=owner_id,
        slug=slug,
        state="draft",
        source_filename=filename[:255],
        source_format=source.format,
        source_sha256=hashlib.sha256(data).hexdigest(),
        source_text=source.text,
        parsed=parsed.to_review_json(),
        fields=fields,
        confidence=parsed.confidence,
        warnings=list(parsed.warnings),
        corrections=[],
        uploaded_by_id=user.id if user else None,
    )


def create_draft(data: bytes, filename: str, *, owner: Organisation, user: User | None) -> PolicyEdition:
    """A draft edition of *owner*'s own policy (an upload never makes a new organisation: that is
    `vendorrisk org import`, on the command line)."""
    source, parsed = read_upload(data, filename)
    slug = owner.slug
    edition = _draft_edition(
        data, filename, source, parsed, fields=fields_from_parsed(parsed), slug=slug,
        organisation_id=owner.id, owner_id=owner.id, user=user,
    )
    db.session.add(edition)
    db.session.flush()
    audit.record(
        "policy_edition.read",
        "policy_edition",
        edition.id,
        actor=user or audit.SYSTEM, organisation_id=owner.id,
        data={
            "slug": slug,
            "file": edition.source_filename,
            "format": source.format,
            "sha256": edition.source_sha256,
            "confidence": parsed.confidence,
        },
    )
    return edition


def draft_for(owner: Organisation, edition_id: int) -> PolicyEdition | None:
    """A draft the admin of *owner* may review (None when it is not theirs or no longer a draft)."""
    edition = db.session.get(PolicyEdition, edition_id)
    if edition is None or edition.owner_organisation_id != owner.id:
        return None
    return edition


# ---------------------------------------------------------------------------
# Correcting
# ---------------------------------------------------------------------------


def _require_draft(edition: PolicyEdition) -> None:
    if edition.state != "draft":
        raise PolicyImportError("この読み取り結果はすでに確定または破棄されているため、変更できません。")


def _apply(edition: PolicyEdition, changes: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    fields = _deep_copy(edition.fields)
    for key, value in changes.items():
        if key in FIELD_LABELS:
            _set_field(fields, key, value)
    paragraphs = fields["clause"]["paragraphs"]
    fields["clause"]["obligations"] = list(obligations_for({k: v for k, v in paragraphs.items() if v}))
    read = fields_from_parsed_json(edition.parsed)
    corrections = [
        {"field": key, "label": label, "read": field_value(read, key), "value": field_value(fields, key)}
        for key, label in FIELD_LABELS.items()
        if field_value(read, key) != field_value(fields, key)
    ]
    return fields, corrections


def pending_corrections(edition: PolicyEdition, changes: dict[str, Any]) -> list[dict[str, Any]]:
    """The corrections *changes* would record (nothing is saved)."""
    return _apply(edition, changes)[1]


def correct(edition: PolicyEdition, changes: dict[str, Any], *, reason: str, user: User | None) -> list[dict[str, Any]]:
    """Apply the admin's values (keys of FIELD_LABELS); returns the corrections now recorded.

    A correction is any field whose value differs from what the parser read. Obligations are
    re-derived from the corrected paragraphs."""
    _require_draft(edition)
    fields, corrections = _apply(edition, changes)
    edition.fields = fields
    edition.corrections = corrections
    edition.correction_reason = reason if corrections else None
    edition.corrected_by_id = user.id if (user and corrections) else None
    edition.corrected_at = utcnow() if corrections else None
    db.session.flush()
    audit.record(
        "policy_edition.correct",
        "policy_edition",
        edition.id,
        actor=user or audit.SYSTEM, organisation_id=edition.owner_organisation_id,
        data={"fields": [c["field"] for c in corrections], "reason": reason},
    )
    return corrections


def fields_from_parsed_json(parsed: dict[str, Any]) -> dict[str, Any]:
    """The fields as the parser read them, from the stored review JSON."""
    clause = parsed["clause"]
    return {
        "organisation": parsed["organisation"],
        "title": parsed["title"],
        "enacted_as_written": parsed["enacted"]["as_written"],
        "enacted_on": parsed["enacted"]["iso"],
        "bodies": list(parsed["bodies"]),
        "clause": {
            "number": clause["number"],
            "number_full": clause.get("number_full") or clause["number"],
            "title": clause["title"],
            "paragraphs": dict(clause["paragraphs"]),
            "obligations": list(clause["obligations"]),
        },
    }


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


# ---------------------------------------------------------------------------
# Accepting, discarding
# ---------------------------------------------------------------------------


def current_edition(organisation_id: int | None) -> PolicyEdition | None:
    if organisation_id is None:
        return None
    return db.session.scalar(
        select(PolicyEdition)
        .filter_by(organisation_id=organisation_id, state="current")
        .order_by(PolicyEdition.id.desc())
    )


def _next_number(organisation_id: int) -> int:
    highest = db.session.scalar(
        select(func.max(PolicyEdition.edition)).where(PolicyEdition.organisation_id == organisation_id)
    )
    return int(highest or 0) + 1


def _make_current(edition: PolicyEdition, org: Organisation, user: User | None) -> None:
    previous = current_edition(org.id)
    if previous is not None and previous.id != edition.id:
        previous.state = "superseded"
    edition.organisation_id = org.id
    edition.state = "current"
    edition.edition = _next_number(org.id)
    edition.accepted_by_id = user.id if user else None
    edition.accepted_at = utcnow()


def accept(edition: PolicyEdition, *, user: User | None) -> Organisation:
    """Make a draft the edition in force of the organisation that uploaded it.

    A draft for another organisation (or a new one, from before uploads were limited to the own
    organisation) is refused: organisations are created with `vendorrisk org import`."""
    from .organisations import import_policy

    _require_draft(edition)
    if edition.organisation_id is None or edition.organisation_id != edition.owner_organisation_id:
        raise PolicyImportError(
            "この読み取り結果は自団体の基本方針ではないため取り込めません。破棄してください。"
            "新しい団体の登録は、サーバーの管理者がコマンド（vendorrisk org import）で行います。"
        )
    parsed = parsed_policy_from_fields(edition.fields)
    org, _created = import_policy(parsed, edition.source_text, slug=edition.slug)
    _make_current(edition, org, user)
    db.session.flush()
    audit.record(
        "policy_edition.accept",
        "policy_edition",
        edition.id,
        actor=user or audit.SYSTEM, organisation_id=org.id,
        data={
            "edition": edition.edition,
            "clause_number": org.clause_number,
            "corrected": [c["field"] for c in edition.corrections],
            "reason": edition.correction_reason,
        },
    )
    return org


def discard(edition: PolicyEdition, *, actor: audit.Actor = audit.SYSTEM) -> None:
    _require_draft(edition)
    edition.state = "discarded"
    db.session.flush()
    audit.record(
        "policy_edition.discard", "policy_edition", edition.id, actor=actor,
        organisation_id=edition.owner_organisation_id, data={},
    )


def record_direct_import(
    org: Organisation, parsed: ParsedPolicy, source: SourceText, filename: str, data: bytes
) -> PolicyEdition:
    """An import from the command line (no review step) still becomes the edition in force."""
    edition = _draft_edition(
        data, filename, source, parsed, fields=fields_from_organisation(org), slug=org.slug,
        organisation_id=org.id, owner_id=org.id, user=None,
    )
    db.session.add(edition)
    _make_current(edition, org, None)
    db.session.flush()
    return edition


# ---------------------------------------------------------------------------
# What the review page shows
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    key: str
    label: str
    before: Any
    after: Any

    @property
    def changed(self) -> bool:
        return self.before != self.after


def baseline_fields(edition: PolicyEdition) -> dict[str, Any] | None:
    """What is in force now for the draft's organisation (None for a new organisation)."""
    current = current_edition(edition.organisation_id)
    if current is not None:
        return dict(current.fields)
    if edition.organisation_id is not None:
        org = db.session.get(Organisation, edition.organisation_id)
        return fields_from_organisation(org) if org else None
    return None


def diff_against_current(edition: PolicyEdition) -> list[FieldChange] | None:
    base = baseline_fields(edition)
    if base is None:
        return None
    return [
        FieldChange(k, label, field_value(base, k), field_value(edition.fields, k)) for k, label in FIELD_LABELS.items()
    ]


def text_diff(before: str | None, after: str | None) -> list[tuple[str, str]]:
    """Character-level diff of two paragraphs: [("equal"|"delete"|"insert", text), ...]."""
    a, b = before or "", after or ""
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", a[i1:i2]))
        else:
            if i2 > i1:
                out.append(("delete", a[i1:i2]))
            if j2 > j1:
                out.append(("insert", b[j1:j2]))
    return out


def source_context(edition: PolicyEdition, margin: int = 4) -> list[tuple[int, str, bool]]:
    """Source lines around the clause: (1-based line number, text, inside the clause)."""
    lines = edition.source_text.split("\n")
    start, end = (edition.parsed.get("clause") or {}).get("source_lines") or [0, 0]
    first, last = max(0, start - margin), min(len(lines), end + margin)
    return [(i + 1, lines[i], start <= i < end) for i in range(first, last) if lines[i].strip() or start <= i < end]


# ---------------------------------------------------------------------------
# The edition an invitation cites
# ---------------------------------------------------------------------------


def edition_for_invitation(invitation: Invitation) -> PolicyEdition | None:
    link = db.session.get(InvitationPolicyEdition, invitation.id)
    return link.edition if link else None


def citation_for_invitation(invitation: Invitation) -> dict[str, str]:
    """What the questionnaire cites: the edition in force when the invitation was sent (a later edition
    never changes an open questionnaire), else the organisation's current policy."""
    edition = edition_for_invitation(invitation)
    org = invitation.engagement.organisation
    if edition is None:
        return {"policy_title": org.policy_title, "clause_number": org.clause_number, "clause_title": org.clause_title}
    clause = (edition.fields or {}).get("clause") or {}
    return {
        "policy_title": (edition.fields or {}).get("title") or org.policy_title,
        "clause_number": clause.get("number_full") or clause.get("number") or org.clause_number,
        "clause_title": clause.get("title") or org.clause_title,
    }


def _edition_in_force(session: Session, org: Organisation) -> PolicyEdition:
    found = session.scalar(
        select(PolicyEdition).filter_by(organisation_id=org.id, state="current").order_by(PolicyEdition.id.desc())
    )
    if found is not None:
        return found
    # An organisation imported before editions existed: its current values become edition 1.
    fields = fields_from_organisation(org)
    text = org.policy_text or ""
    edition = PolicyEdition(
        organisation_id=org.id,
        owner_organisation_id=org.id,
        slug=org.slug,
        state="current",
        edition=1,
        source_filename="",
        source_format="text",
        source_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source_text=text,
        parsed={},
        fields=fields,
        confidence=1.0,
        warnings=[],
        corrections=[],
        accepted_at=utcnow(),
    )
    session.add(edition)
    return edition


@event.listens_for(Session, "before_flush")
def _link_new_invitations(session: Session, flush_context: Any, instances: Any) -> None:
    new = [obj for obj in session.new if isinstance(obj, Invitation)]
    if not new:
        return
    with session.no_autoflush:
        for invitation in new:
            engagement = invitation.engagement
            if engagement is None or engagement.organisation is None:
                continue
            edition = _edition_in_force(session, engagement.organisation)
            session.add(InvitationPolicyEdition(invitation=invitation, edition=edition))
