"""The API's operations. Each reads or writes through the same services the pages use."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from sqlalchemy import Select, func, or_, select

from ...domain.vocabulary import ENGAGEMENT_STATES
from ...extensions import db
from ...models import Annex, ApiKey, Assessment, AuditEvent, Engagement, Invitation, StateError, Vendor
from ...services import engagements, invitations, review, vendors
from ...services.annexes import annex_filename
from . import ApiError, operation
from .schemas import (
    AnnexOut,
    AssessmentOut,
    AuditEventOut,
    EngagementIn,
    EngagementOut,
    InvitationIn,
    InvitationOut,
    Page,
    VendorIn,
    VendorOut,
)

PAGING = [
    {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 100000,
                                                                  "default": 1}},
    {"name": "per_page", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
]
SEARCH = {"name": "q", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 100},
          "description": "名称・法人番号・案件番号などの一部"}


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(422, f"{name} は整数で指定してください。") from exc
    if not low <= value <= high:
        raise ApiError(422, f"{name} は {low} 以上 {high} 以下で指定してください。")
    return value


def _search_arg() -> str:
    q = request.args.get("q", "").strip()
    if len(q) > 100:
        raise ApiError(422, "q は100文字以内で指定してください。")
    return q


def _paged(query: Select[Any], out: type[Any], convert: Any) -> dict[str, Any]:
    page = _int_arg("page", 1, 1, 100000)
    per_page = _int_arg("per_page", 50, 1, 100)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [convert(r) for r in rows], "page": page, "per_page": per_page, "total": total}


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _vendor(key: ApiKey, vendor_id: int) -> Vendor:
    vendor = db.session.get(Vendor, vendor_id)
    if vendor is None or vendor.organisation_id != key.organisation_id:
        raise ApiError(404)
    return vendor


def _engagement(key: ApiKey, engagement_id: int) -> Engagement:
    engagement = db.session.get(Engagement, engagement_id)
    if engagement is None or engagement.organisation_id != key.organisation_id:
        raise ApiError(404)
    return engagement


def _actor(key: ApiKey) -> str:
    return f"api_key:{key.id}"


def vendor_json(v: Vendor) -> dict[str, Any]:
    return VendorOut(id=v.id, name=v.name, corporate_number=v.corporate_number, address=v.address or "",
                     representative=v.representative or "", contact_email=v.contact_email or "",
                     created_at=v.created_at).model_dump(mode="json")


def engagement_json(e: Engagement) -> dict[str, Any]:
    return EngagementOut(
        id=e.id, vendor_id=e.vendor_id, reference=e.reference, title=e.title, kinds=list(e.kinds),
        confidentiality=e.confidentiality, integrity=e.integrity, availability=e.availability,
        personal_data=e.personal_data, my_number=e.my_number, network_segment=e.network_segment,
        period_start=e.period_start, period_end=e.period_end, state=e.state,  # type: ignore[arg-type]
        state_label=e.state_label, created_at=e.created_at,
    ).model_dump(mode="json")


def invitation_json(i: Invitation, link: str | None = None) -> dict[str, Any]:
    return InvitationOut(id=i.id, state=i.state, recipient_name=i.recipient_name or "",  # type: ignore[arg-type]
                         recipient_email=i.recipient_email, created_at=i.created_at, expires_at=i.expires_at,
                         revoked_at=i.revoked_at, link=link).model_dump(mode="json")


def assessment_json(a: Assessment) -> dict[str, Any]:
    return AssessmentOut(id=a.id, score=a.score, rating=a.rating, inherent_risk=a.inherent_risk,  # type: ignore[arg-type]
                         decision=a.decision, decision_note=a.decision_note or "",  # type: ignore[arg-type]
                         decided_at=a.decided_at, created_at=a.created_at,
                         findings=list((a.result or {}).get("findings", []))).model_dump(mode="json")


def annex_json(a: Annex) -> dict[str, Any]:
    # The scan itself stays deferred (never loaded for a list): its name and type say it is there.
    return AnnexOut(id=a.id, engagement_id=a.engagement_id, version=a.version, document_id=a.document_id,
                    pdf_sha256=a.pdf_sha256, answers_sha256=a.answers_sha256, created_at=a.created_at,
                    signed=a.signed_on is not None, signed_on=a.signed_on, signed_scan_name=a.signed_scan_name,
                    signed_scan_mimetype=a.signed_scan_mimetype).model_dump(mode="json")


def audit_json(e: AuditEvent) -> dict[str, Any]:
    return AuditEventOut(id=e.id, at=e.at, actor=e.actor, action=e.action, object_type=e.object_type,
                         object_id=e.object_id, data=dict(e.data or {})).model_dump(mode="json")


# --- vendors --------------------------------------------------------------------------------


@operation("GET", "/vendors", "委託事業者の一覧", response=Page[VendorOut], query=[*PAGING, SEARCH], errors=(422,))
def list_vendors(key: ApiKey) -> dict[str, Any]:
    query = select(Vendor).where(Vendor.organisation_id == key.organisation_id)
    q = _search_arg()
    if q:
        query = query.where(or_(Vendor.name.like(_like(q), escape="\\"),
                                Vendor.corporate_number.like(_like(q), escape="\\")))
    return _paged(query.order_by(Vendor.id), VendorOut, vendor_json)


@operation("POST", "/vendors", "委託事業者を登録する", scope="write", response=VendorOut, status=201, body=VendorIn,
           errors=(400, 403, 409, 415, 422))
def create_vendor(key: ApiKey, body: VendorIn) -> dict[str, Any]:
    if body.corporate_number and db.session.scalar(select(Vendor.id).filter_by(
            organisation_id=key.organisation_id, corporate_number=body.corporate_number)):
        raise ApiError(409, "この法人番号の事業者はすでに登録されています。")
    vendor = vendors.create_vendor(
        key.organisation, actor=_actor(key), name=body.name, corporate_number=body.corporate_number,
        address=body.address, representative=body.representative, contact_email=body.contact_email or "",
    )
    return vendor_json(vendor)


@operation("GET", "/vendors/{vendor_id}", "委託事業者", response=VendorOut)
def get_vendor(key: ApiKey, vendor_id: int) -> dict[str, Any]:
    return vendor_json(_vendor(key, vendor_id))


# --- engagements ----------------------------------------------------------------------------

STATE_FILTER: dict[str, Any] = {"name": "state", "in": "query", "required": False,
                "schema": {"type": "string", "enum": list(ENGAGEMENT_STATES)}}
KIND_FILTER: dict[str, Any] = {"name": "kind", "in": "query", "required": False,
               "schema": {"type": "string", "enum": ["outsourcing", "cloud", "social_media"]}}


@operation("GET", "/engagements", "委託案件の一覧", response=Page[EngagementOut],
           query=[*PAGING, SEARCH, STATE_FILTER, KIND_FILTER], errors=(422,))
def list_engagements(key: ApiKey) -> dict[str, Any]:
    query = select(Engagement).where(Engagement.organisation_id == key.organisation_id)
    state, kind, q = request.args.get("state"), request.args.get("kind"), _search_arg()
    if state:
        if state not in STATE_FILTER["schema"]["enum"]:
            raise ApiError(422, "state の値が正しくありません。")
        query = query.where(Engagement.state == state)
    rows_filter = None
    if kind:  # noqa: SIM102
        if kind not in KIND_FILTER["schema"]["enum"]:
            raise ApiError(422, "kind の値が正しくありません。")
        rows_filter = kind
    if q:
        query = query.where(or_(Engagement.reference.like(_like(q), escape="\\"),
                                Engagement.title.like(_like(q), escape="\\")))
    if rows_filter:
        # kinds is a JSON list; the three kind names never contain one another, so a text match is exact.
        from sqlalchemy import String, cast

        query = query.where(cast(Engagement.kinds, String).like(f'%"{rows_filter}"%'))
    return _paged(query.order_by(Engagement.id), EngagementOut, engagement_json)


@operation("POST", "/engagements", "委託案件を登録する", scope="write", response=EngagementOut, status=201,
           body=EngagementIn, errors=(400, 403, 409, 415, 422))
def create_engagement(key: ApiKey, body: EngagementIn) -> dict[str, Any]:
    vendor = db.session.get(Vendor, body.vendor_id)
    if vendor is None or vendor.organisation_id != key.organisation_id:
        raise ApiError(422, "vendor_id の事業者が見つかりません。",
                       details=[{"field": "vendor_id", "type": "not_found", "message": "no such vendor"}])
    if db.session.scalar(select(Engagement.id).filter_by(organisation_id=key.organisation_id,
                                                          reference=body.reference)):
        raise ApiError(409, "この案件番号はすでに使われています。")
    fields = body.model_dump(exclude={"vendor_id", "officer_ids"})
    engagement = engagements.create_engagement(key.organisation, vendor, body.officer_ids, actor=_actor(key),
                                               **fields)
    return engagement_json(engagement)


@operation("GET", "/engagements/{engagement_id}", "委託案件（状態を含む）", response=EngagementOut)
def get_engagement(key: ApiKey, engagement_id: int) -> dict[str, Any]:
    return engagement_json(_engagement(key, engagement_id))


# --- invitations ----------------------------------------------------------------------------


@operation("GET", "/engagements/{engagement_id}/invitations", "回答依頼の履歴", response=Page[InvitationOut],
           query=PAGING, errors=(404, 422))
def list_invitations(key: ApiKey, engagement_id: int) -> dict[str, Any]:
    engagement = _engagement(key, engagement_id)
    query = select(Invitation).where(Invitation.engagement_id == engagement.id).order_by(Invitation.id)
    return _paged(query, InvitationOut, invitation_json)


@operation("POST", "/engagements/{engagement_id}/invitations", "回答依頼を作成して送る", scope="write",
           response=InvitationOut, status=201, body=InvitationIn, errors=(400, 403, 404, 409, 415, 422))
def send_invitation(key: ApiKey, body: InvitationIn, engagement_id: int) -> dict[str, Any]:
    engagement = _engagement(key, engagement_id)
    try:
        sent = invitations.send_invitation(engagement, recipient_email=str(body.recipient_email),
                                           recipient_name=body.recipient_name, user=None, open_days=body.days)
    except StateError as exc:
        raise ApiError(409, str(exc)) from exc  # the unit of work rolls back
    invitations.mail_after_commit(sent)
    return invitation_json(sent.invitation, link=sent.link)


@operation("POST", "/invitations/{invitation_id}/revoke", "回答依頼を取り消す", scope="write",
           response=InvitationOut, errors=(403, 404, 409))
def revoke_invitation(key: ApiKey, invitation_id: int) -> dict[str, Any]:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.engagement.organisation_id != key.organisation_id:
        raise ApiError(404)
    try:
        invitations.revoke_invitation(invitation, actor=_actor(key))
    except StateError as exc:
        raise ApiError(409, str(exc)) from exc
    return invitation_json(invitation)


# --- results and documents ------------------------------------------------------------------


@operation("GET", "/engagements/{engagement_id}/assessment", "最新の審査結果（点数・評価・指摘事項）",
           response=AssessmentOut)
def get_assessment(key: ApiKey, engagement_id: int) -> dict[str, Any]:
    assessment = review.latest_assessment(_engagement(key, engagement_id))
    if assessment is None:
        raise ApiError(404, "この案件には、まだ審査結果がありません。")
    return assessment_json(assessment)


@operation("GET", "/engagements/{engagement_id}/annexes", "特記事項の版の一覧", response=Page[AnnexOut],
           query=PAGING, errors=(404, 422))
def list_annexes(key: ApiKey, engagement_id: int) -> dict[str, Any]:
    engagement = _engagement(key, engagement_id)
    query = select(Annex).where(Annex.engagement_id == engagement.id).order_by(Annex.version)
    return _paged(query, AnnexOut, annex_json)


@operation("GET", "/annexes/{annex_id}/pdf", "特記事項のPDF", response=None, media_type="application/pdf")
def download_annex(key: ApiKey, annex_id: int) -> Response:
    annex = db.session.get(Annex, annex_id)
    if annex is None or annex.engagement.organisation_id != key.organisation_id:
        raise ApiError(404)
    from urllib.parse import quote

    from ...services import audit

    audit.record("annex.download", "annex", annex.id, organisation_id=key.organisation_id, actor=_actor(key),
                 data={"via": "api"})
    name = annex_filename(annex)
    response = Response(annex.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"annex-{annex.id}.pdf\"; filename*=UTF-8''{quote(name)}"
    )
    return response


ACTION_FILTER = {"name": "action", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 60}}


@operation("GET", "/audit-events", "監査記録", response=Page[AuditEventOut], query=[*PAGING, ACTION_FILTER],
           errors=(422,))
def list_audit_events(key: ApiKey) -> dict[str, Any]:
    query = select(AuditEvent).where(AuditEvent.organisation_id == key.organisation_id)
    action = request.args.get("action", "")
    if len(action) > 60:
        raise ApiError(422, "action は60文字以内で指定してください。")
    if action:
        query = query.where(AuditEvent.action == action)
    return _paged(query.order_by(AuditEvent.id.desc()), AuditEventOut, audit_json)
