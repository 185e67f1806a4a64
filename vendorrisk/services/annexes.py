"""Issue the 情報セキュリティ特記事項: snapshot the approved engagement, compose, render, store.

A new version is stored only when the snapshot (answers, officers, organisation text ...) changed;
older versions are kept. The snapshot is also embedded in the PDF/A-3 as JSON.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..domain import annex as annex_domain
from ..domain import questionnaire as qdef
from ..domain.vocabulary import ANNEX_STATES, JST, PERSON_FIELDS, canonical_sha256
from ..extensions import db
from ..models import Annex, Assessment, Engagement, Invitation, Organisation, StateError, User
from . import audit
from .definitions import current_definitions, invitation_questionnaires
from .review import latest_assessment

_renderer: Any = None


def renderer() -> Any:
    """One renderer per process: fonts and templates are loaded once."""
    global _renderer
    if _renderer is None:
        from ..adapters.pdf import AnnexRenderer

        _renderer = AnnexRenderer()
    return _renderer


def unprintable_characters(text: str) -> list[str]:
    """Characters the annex font cannot print (warn the contractor; never refuse a real name)."""
    from ..adapters.pdf import unsupported_characters

    return unsupported_characters(text)


_PERSON_KEYS = tuple(key for key, _ja, _en, _required in PERSON_FIELDS)
#: The contractor's people the annex names (別表「責任者等一覧」), in order: (annex field, role title).
_CONTRACTOR_ROLES = (("responsible_manager", "業務責任者"), ("security_officer", "情報セキュリティ責任者"))
_NOT_AN_AGREEMENT = ("no", "partial", "na")


def _submitted_invitation(engagement: Engagement) -> Invitation:
    for invitation in reversed(engagement.invitations):
        if invitation.state == "submitted" and invitation.response is not None:
            return invitation
    raise StateError("提出済みの回答がないため、特記事項を作成できません。")


def _approved_assessment(engagement: Engagement) -> Assessment:
    if engagement.state == "in_approval":
        raise StateError("決裁が終わっていないため、特記事項を作成できません。決裁の完了を待ってください。")
    if engagement.state not in ANNEX_STATES:
        raise StateError("承認済みの案件だけ特記事項を作成できます（条件付承認を含みます）。")
    assessment = latest_assessment(engagement)
    if assessment is None or assessment.decision not in ANNEX_STATES:
        raise StateError("承認済みの審査結果がありません。")
    return assessment


def _declaring_definitions(invitation: Invitation) -> list[qdef.Questionnaire]:
    """The definitions the invitation was sent with. One frozen before questions declared their
    annex fields declares none: the current file of the same id gives the declarations."""
    sent = invitation_questionnaires(invitation)
    if all(qdef.declarations([q]) for q in sent):
        return sent
    try:
        current = current_definitions()
    except qdef.DefinitionError:
        return sent
    return [q if qdef.declarations([q]) else current.get(q.id, q) for q in sent]


def _with_obligations(sent: list[qdef.Questionnaire]) -> list[qdef.Questionnaire]:
    """Definitions frozen before banks carried ``obligation:`` wording take it from the current file."""
    try:
        current = current_definitions()
    except qdef.DefinitionError:
        return sent
    return sent + [current[q.id] for q in sent if q.id in current]


def _contractor_people(facts: dict[str, Any]) -> list[dict[str, Any]]:
    people = []
    for role, role_title in _CONTRACTOR_ROLES:
        value = facts.get(role)
        if isinstance(value, dict) and value.get("name"):
            people.append({"role": role, "role_title": role_title, **{k: value.get(k, "") for k in _PERSON_KEYS}})
    return people


def _agreed_or_stated(value: Any, agreed: str) -> str:
    """A yes/no "agree to Japanese law / courts" answer counts as that agreement; text is taken as written."""
    if value == "yes":
        return agreed
    return value if isinstance(value, str) and value not in _NOT_AN_AGREEMENT else ""


def _cloud(engagement: Engagement, facts: dict[str, Any]) -> dict[str, Any] | None:
    if "cloud" not in engagement.kinds:
        return None
    return {
        "high": engagement.confidentiality >= 2,
        "service_name": facts.get("service_name") or "",
        "data_location": facts.get("data_location") or "",
        "governing_law": _agreed_or_stated(facts.get("governing_law"), "日本法"),
        "court": _agreed_or_stated(
            facts.get("court"), f"{engagement.organisation.name}の事務所の所在地を管轄する地方裁判所"
        ),
    }


def _subcontracting(facts: dict[str, Any]) -> dict[str, Any]:
    flag = facts.get("subcontracting")
    declared = flag == "yes" or flag is True
    rows = (facts.get("subcontractors") or []) if declared else []
    return {
        "declared": declared,
        "subcontractors": [
            {"name": s.get("name", ""), "address": s.get("address", ""), "scope": s.get("scope", "")}
            for s in rows if isinstance(s, dict)
        ],
    }


def _social_accounts(engagement: Engagement, facts: dict[str, Any]) -> list[dict[str, Any]]:
    if "social_media" not in engagement.kinds:
        return []
    return [
        {k: a.get(k, "") for k in ("service", "account", "section", "owner")}
        for a in facts.get("social_accounts") or [] if isinstance(a, dict)
    ]


def _obligations(definitions: list[qdef.Questionnaire]) -> dict[str, str]:
    """Question id → the 是正事項 wording its bank declares (``obligation:``)."""
    found: dict[str, str] = {}
    for q in definitions:  # the definitions sent first: their own wording wins
        for question in q.questions():
            if question.obligation_ja:
                found.setdefault(question.id, question.obligation_ja)
    return found


def _findings(assessment: Assessment, org: Organisation, obligations: dict[str, str]) -> list[dict[str, Any]]:
    if assessment.decision == "conditional":  # the 是正事項 the reviewer wrote, with their 開庁日 deadlines
        return [
            {"question_id": r.question_id, "title": r.title, "remediation": r.obligation, "obligation": r.obligation,
             "deadline": r.deadline.isoformat()}
            for r in assessment.remediations
        ]
    if assessment.rating != "conditional":
        return []
    return [
        {
            "question_id": f.get("question_id", ""),
            "title": org.localize(f.get("question_text", "")),
            "remediation": org.localize(f.get("remediation", "")),
            "obligation": org.localize(obligations.get(f.get("question_id", ""), "")),
            "deadline": f.get("deadline") or "",
        }
        for f in assessment.result.get("findings", [])
    ]


#: Organisation settings the annex reads (settings["annex_<key>"], set on the admin page 団体設定
#: 「特記事項・覚書の記載」 through services.organisation_settings.save_annex_settings).
ANNEX_SETTINGS = ("heading_style", "digit_style", "address", "head_name", "cloud_low_document")


def _organisation(org: Organisation) -> dict[str, Any]:
    settings = org.settings or {}
    return {
        **{key: str(settings.get(f"annex_{key}") or "") for key in ANNEX_SETTINGS},
        "name": org.name,
        "slug": org.slug,
        "policy_title": org.policy_title,
        "head_title": org.head_title or org.name,
        "clause": {"number": org.clause_number, "title": org.clause_title, "paragraphs": dict(org.clause_paragraphs)},
        "articles_override": (org.settings or {}).get("articles_override") or {},
    }


def _engagement(engagement: Engagement) -> dict[str, Any]:
    return {
        "reference": engagement.reference,
        "title": engagement.title,
        "kinds": list(engagement.kinds),
        "confidentiality": engagement.confidentiality,
        "personal_data": engagement.personal_data,
        "my_number": engagement.my_number,
        "period_start": engagement.period_start.isoformat() if engagement.period_start else None,
        "period_end": engagement.period_end.isoformat() if engagement.period_end else None,
    }


def build_snapshot(
    engagement: Engagement, *, issued_on: dt.date | None = None, memorandum: bool = False
) -> dict[str, Any]:
    """Everything the annex shows, as plain JSON-able data (version fields filled in by issue_annex).

    Facts from the contractor's answers come only from the questions that declare them
    (``annex_field`` in questionnaires/*.yaml)."""
    assessment = _approved_assessment(engagement)
    invitation = _submitted_invitation(engagement)
    response = invitation.response
    assert response is not None
    answers = response.answer_map()
    definitions = _declaring_definitions(invitation)
    facts = qdef.annex_answers(definitions, answers)
    vendor = engagement.vendor
    return {
        "issued_on": (issued_on or dt.datetime.now(JST).date()).isoformat(),
        "answers_sha256": response.answers_sha256 or canonical_sha256(answers),
        "organisation": _organisation(engagement.organisation),
        "vendor": {
            "name": vendor.name,
            "corporate_number": vendor.corporate_number or "",
            "address": vendor.address,
            "representative": vendor.representative,
        },
        "engagement": _engagement(engagement),
        "municipal_officers": [
            {"role": o.role, "role_title": o.role_title, "name": o.name, "department": o.department}
            for o in engagement.officers
        ],
        "contractor_people": _contractor_people(facts),
        "work_site": facts.get("work_site") or "",
        # The data storage site; a cloud service's data location when no question states one.
        "data_storage_site": facts.get("data_storage_site") or facts.get("data_location") or "",
        "subcontracting": _subcontracting(facts),
        "cloud": _cloud(engagement, facts),
        "social_accounts": _social_accounts(engagement, facts),
        "findings": _findings(assessment, engagement.organisation, _obligations(_with_obligations(definitions))),
        "rating": assessment.rating,
        "questionnaires": [f"{q.id}@{q.version}" for q in invitation_questionnaires(invitation)],
        "memorandum": memorandum,
    }


def _content_key(snapshot: dict[str, Any]) -> str:
    """Hash of what the document says, ignoring the issue date and version fields."""
    core = {k: v for k, v in snapshot.items() if k not in ("issued_on", "version", "document_id")}
    return canonical_sha256(core)


@dataclass(frozen=True)
class Issued:
    """The annex `issue` returns, and whether this call created it (False: the content was unchanged)."""

    annex: Annex
    created: bool


def _latest(engagement: Engagement) -> Annex | None:
    return db.session.scalar(
        select(Annex).filter_by(engagement_id=engagement.id).order_by(Annex.version.desc()).limit(1)
    )


def _lock_engagement(engagement: Engagement) -> None:
    """Serialise issuing per engagement: two legal users at once give one version (PostgreSQL row lock;
    SQLite has one writer anyway)."""
    db.session.execute(select(Engagement.id).where(Engagement.id == engagement.id).with_for_update())


def _composed(snapshot: dict[str, Any]) -> annex_domain.AnnexDocument:
    try:
        doc = annex_domain.compose_annex(snapshot)
    except annex_domain.AnnexCompositionError as exc:
        raise StateError(f"特記事項を作成できません：{exc}") from exc
    problems = annex_domain.issue_problems(snapshot, doc)
    if problems:
        raise StateError("特記事項を作成できません：" + "／".join(problems))
    return doc


def preview_html(engagement: Engagement, *, memorandum: bool = False) -> str:
    """The annex as it would be issued now, as HTML, without storing anything. Raises StateError with
    the same message issuing would give."""
    snapshot = build_snapshot(engagement, memorandum=memorandum)
    latest = _latest(engagement)
    snapshot["version"] = (latest.version + 1) if latest else 1
    snapshot["document_id"] = f"VR-{engagement.organisation.slug}-{engagement.reference}-preview"
    return str(renderer().html(_composed(snapshot)))


def issue_annex(engagement: Engagement, user: User | None = None, *, issued_on: dt.date | None = None,
                memorandum: bool = False) -> Annex:
    """The current annex: the latest stored version if nothing changed, else a new version."""
    return issue(engagement, user, issued_on=issued_on, memorandum=memorandum).annex


def issue(engagement: Engagement, user: User | None = None, *, issued_on: dt.date | None = None,
          memorandum: bool = False) -> Issued:
    """Issue the annex (see `issue_annex`), saying whether a new version was made.

    `memorandum` makes a standalone 覚書 with the 記名押印 block."""
    _lock_engagement(engagement)
    snapshot = build_snapshot(engagement, issued_on=issued_on, memorandum=memorandum)
    key = _content_key(snapshot)
    latest = _latest(engagement)
    if latest is not None and latest.snapshot_sha256 == key:
        return Issued(latest, False)
    return _new_version(engagement, snapshot, key, user, "annex.issue")


def _new_version(engagement: Engagement, snapshot: dict[str, Any], key: str, user: User | None,
                 action: str) -> Issued:
    """Render the snapshot as the engagement's next version and store it (the caller holds the lock)."""
    version = (db.session.scalar(select(func.max(Annex.version)).filter_by(engagement_id=engagement.id)) or 0) + 1
    snapshot["version"] = version
    snapshot["document_id"] = f"VR-{engagement.organisation.slug}-{engagement.reference}-v{version}"
    doc = _composed(snapshot)
    attachment = json.dumps(snapshot, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")
    pdf = renderer().pdf(doc, attachment_json=attachment)
    annex = Annex(
        engagement_id=engagement.id,
        version=version,
        document_id=snapshot["document_id"],
        snapshot=snapshot,
        snapshot_sha256=key,
        answers_sha256=snapshot["answers_sha256"],
        text=annex_domain.annex_text(doc),
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        created_by_id=user.id if user else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(annex)
    except IntegrityError:
        # Another request stored this version first (a backend without row locks): use its annex when
        # it says the same; otherwise ask the user to issue again rather than fail with a 500.
        winner = _latest(engagement)
        if winner is not None and winner.snapshot_sha256 == key:
            return Issued(winner, False)
        raise StateError("同時に別の版が作成されました。もう一度「作成」を押してください。") from None
    audit.record(
        action, "annex", annex.id, actor=user or audit.SYSTEM, organisation_id=engagement.organisation_id,
        data={"document_id": annex.document_id, "pdf_sha256": annex.pdf_sha256},
    )
    return Issued(annex, True)


def record_signed(annex: Annex, user: User, *, signed_on: dt.date, scan: bytes, filename: str,
                  mimetype: str) -> None:
    """Record that this version was signed (the date on it and the uploaded scan)."""
    if signed_on > dt.datetime.now(JST).date():
        raise StateError("締結日に未来の日付は指定できません。")
    if not scan:
        raise StateError("締結した文書の写し（PDF 又は画像）を選択してください。")
    annex.signed_on = signed_on
    annex.signed_scan = scan
    annex.signed_scan_name = filename[:200]
    annex.signed_scan_mimetype = mimetype[:100]
    annex.signed_by_id = user.id
    audit.record(
        "annex.signed", "annex", annex.id, organisation_id=annex.engagement.organisation_id, actor=user,
        data={"document_id": annex.document_id, "signed_on": signed_on.isoformat(),
              "scan_sha256": hashlib.sha256(scan).hexdigest()},
    )


def annex_filename(annex: Annex, suffix: str = "pdf") -> str:
    eng = annex.engagement
    title = "".join(ch for ch in eng.title if ch not in '\\/:*?"<>|\r\n\t')[:60]
    return f"情報セキュリティ特記事項_{eng.reference}_{title}_第{annex.version}版.{suffix}"


def annex_docx(annex: Annex) -> bytes:
    """The same annex as DOCX for legal redlining, recomposed from its stored snapshot."""
    from ..adapters.docx import render_docx

    return render_docx(annex_domain.compose_annex(annex.snapshot))


def rerender(engagement: Engagement, user: User | None = None) -> Annex | None:
    """The current annex rendered again from its stored snapshot, as a new version (after a font or
    template change: the words are the same, the document is made with today's templates).

    None when there is no annex yet, or the current version is signed: the signed document stays the
    record (issue a new version through the legal page if one is needed)."""
    _lock_engagement(engagement)
    latest = _latest(engagement)
    if latest is None or latest.signed_on is not None:
        return None
    snapshot = {k: v for k, v in latest.snapshot.items() if k not in ("version", "document_id")}
    return _new_version(engagement, snapshot, latest.snapshot_sha256, user, "annex.rerender").annex


def obligation_wordings(invitation: Invitation) -> dict[str, str]:
    """Question id → the bank's 是正事項 wording (``obligation:``), localised for the organisation: what a
    条件付承認 proposes for each finding."""
    org = invitation.engagement.organisation
    found = _obligations(_with_obligations(invitation_questionnaires(invitation)))
    return {qid: org.localize(text) for qid, text in found.items()}
