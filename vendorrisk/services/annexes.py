"""Issue the 情報セキュリティ特記事項: snapshot the approved engagement, compose, render, store.

A new version is stored only when the snapshot (answers, officers, organisation text ...) changed;
older versions are kept. The snapshot is also embedded in the PDF/A-3 as JSON.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ..domain import annex as annex_domain
from ..extensions import db
from ..models import Annex, Engagement, Invitation, StateError, User
from . import audit
from .workflow import canonical_sha256, invitation_questionnaires, latest_assessment

JST = ZoneInfo("Asia/Tokyo")

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


def _by_suffix(answers: dict[str, Any], suffix: str) -> Any:
    for qid in sorted(answers):
        if qid.endswith(suffix) and answers[qid] not in (None, "", [], {}):
            return answers[qid]
    return None


def _first(answers: dict[str, Any], *suffixes: str) -> Any:
    """The first non-empty answer whose question id ends with one of the suffixes."""
    for suffix in suffixes:
        value = _by_suffix(answers, suffix)
        if value is not None:
            return value
    return None


def _person(answers: dict[str, Any], suffix: str, role: str, role_title: str) -> dict[str, Any] | None:
    value = _by_suffix(answers, suffix)
    if not isinstance(value, dict) or not value.get("name"):
        return None
    return {"role": role, "role_title": role_title, **{k: value.get(k, "") for k in ("name", "title", "department", "email", "phone")}}


def _submitted_invitation(engagement: Engagement) -> Invitation:
    for invitation in reversed(engagement.invitations):
        if invitation.state == "submitted" and invitation.response is not None:
            return invitation
    raise StateError("提出済みの回答がないため、特記事項を作成できません。")


def build_snapshot(engagement: Engagement, *, issued_on: dt.date | None = None, memorandum: bool = False) -> dict[str, Any]:
    """Everything the annex shows, as plain JSON-able data (version fields filled in by issue_annex)."""
    if engagement.state != "approved":
        raise StateError("承認済みの案件だけ特記事項を作成できます。")
    assessment = latest_assessment(engagement)
    if assessment is None or assessment.decision != "approved":
        raise StateError("承認済みの審査結果がありません。")
    invitation = _submitted_invitation(engagement)
    response = invitation.response
    assert response is not None
    answers = response.answer_map()
    org = engagement.organisation
    vendor = engagement.vendor
    people = [
        p for p in (
            _person(answers, "responsible_manager", "responsible_manager", "業務責任者"),
            _person(answers, "security_officer", "security_officer", "情報セキュリティ責任者"),
        ) if p
    ]
    subcontract_flag = _first(answers, "subcontracting", "sub.any", "sub_any")
    subcontractors = _first(answers, "subcontractors", "sub.list", "sub_list") or []
    accounts = _first(answers, "accounts", "accounts.list") or []
    cloud = None
    if "cloud" in engagement.kinds:
        law = _first(answers, "governing_law")
        court = _first(answers, "court")
        cloud = {
            "high": engagement.confidentiality >= 2,
            "service_name": _first(answers, "service_name", "service.name") or "",
            "data_location": _first(answers, "data_location", "location.data_site") or "",
            # A yes/no "agree to Japanese law / courts" question counts as that agreement.
            "governing_law": "日本法" if law == "yes" else (law if isinstance(law, str) and law not in ("no", "partial", "na") else ""),
            "court": f"{org.name}の事務所の所在地を管轄する地方裁判所" if court == "yes" else (court if isinstance(court, str) and court not in ("no", "partial", "na") else ""),
        }
    findings = []
    if assessment.rating == "conditional":
        for f in assessment.result.get("findings", []):
            findings.append({
                "question_id": f.get("question_id", ""),
                "title": org.localize(f.get("question_text", "")),
                "remediation": org.localize(f.get("remediation", "")),
                "deadline": f.get("deadline") or "",
            })
    return {
        "issued_on": (issued_on or dt.datetime.now(JST).date()).isoformat(),
        "answers_sha256": response.answers_sha256 or canonical_sha256(answers),
        "organisation": {
            "name": org.name,
            "slug": org.slug,
            "policy_title": org.policy_title,
            "head_title": org.head_title or org.name,
            "clause": {"number": org.clause_number, "title": org.clause_title, "paragraphs": dict(org.clause_paragraphs)},
            "articles_override": (org.settings or {}).get("articles_override") or {},
        },
        "vendor": {
            "name": vendor.name,
            "corporate_number": vendor.corporate_number or "",
            "address": vendor.address,
            "representative": vendor.representative,
        },
        "engagement": {
            "reference": engagement.reference,
            "title": engagement.title,
            "kinds": list(engagement.kinds),
            "confidentiality": engagement.confidentiality,
            "personal_data": engagement.personal_data,
            "my_number": engagement.my_number,
            "period_start": engagement.period_start.isoformat() if engagement.period_start else None,
            "period_end": engagement.period_end.isoformat() if engagement.period_end else None,
        },
        "municipal_officers": [
            {"role": o.role, "role_title": o.role_title, "name": o.name, "department": o.department}
            for o in engagement.officers
        ],
        "contractor_people": people,
        "work_site": _first(answers, "work_site") or "",
        "data_storage_site": _first(answers, "data_storage_site", "data_site", "data_location") or "",
        "subcontracting": {
            "declared": subcontract_flag == "yes" or (subcontract_flag is True),
            "subcontractors": [
                {"name": s.get("name", ""), "address": s.get("address", ""), "scope": s.get("scope", "")}
                for s in subcontractors if isinstance(s, dict)
            ] if subcontract_flag in ("yes", True) else [],
        },
        "cloud": cloud,
        "social_accounts": [
            {k: a.get(k, "") for k in ("service", "account", "section", "owner")}
            for a in accounts if isinstance(a, dict)
        ] if "social_media" in engagement.kinds else [],
        "findings": findings,
        "rating": assessment.rating,
        "questionnaires": [f"{q.id}@{q.version}" for q in invitation_questionnaires(invitation)],
        "memorandum": memorandum,
    }


def _content_key(snapshot: dict[str, Any]) -> str:
    """Hash of what the document says, ignoring the issue date and version fields."""
    core = {k: v for k, v in snapshot.items() if k not in ("issued_on", "version", "document_id")}
    return canonical_sha256(core)


def issue_annex(engagement: Engagement, user: User | None = None, *, issued_on: dt.date | None = None,
                memorandum: bool = False) -> Annex:
    """The current annex: the latest stored version if nothing changed, else a new version.

    `memorandum` adds the 記名押印 block for a standalone 覚書."""
    snapshot = build_snapshot(engagement, issued_on=issued_on, memorandum=memorandum)
    key = _content_key(snapshot)
    latest = db.session.scalar(
        select(Annex).filter_by(engagement_id=engagement.id).order_by(Annex.version.desc()).limit(1)
    )
    if latest is not None and latest.snapshot_sha256 == key:
        return latest
    version = (db.session.scalar(select(func.max(Annex.version)).filter_by(engagement_id=engagement.id)) or 0) + 1
    snapshot["version"] = version
    snapshot["document_id"] = f"VR-{engagement.organisation.slug}-{engagement.reference}-v{version}"
    try:
        doc = annex_domain.compose_annex(snapshot)
    except annex_domain.AnnexCompositionError as exc:
        raise StateError(f"特記事項を作成できません：{exc}") from exc
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
    db.session.add(annex)
    db.session.flush()
    audit.record(
        "annex.issue", "annex", annex.id, organisation_id=engagement.organisation_id,
        data={"document_id": annex.document_id, "pdf_sha256": annex.pdf_sha256},
    )
    return annex


def annex_filename(annex: Annex, suffix: str = "pdf") -> str:
    eng = annex.engagement
    title = "".join(ch for ch in eng.title if ch not in '\\/:*?"<>|\r\n\t')[:60]
    return f"情報セキュリティ特記事項_{eng.reference}_{title}_第{annex.version}版.{suffix}"


def annex_docx(annex: Annex) -> bytes:
    """The same annex as DOCX for legal redlining, recomposed from its stored snapshot."""
    from ..adapters.docx import render_docx

    return render_docx(annex_domain.compose_annex(annex.snapshot))
