"""The audit trail as staff browse it: an organisation's events filtered by who, which engagement,
what and when, newest first, paged (a fixed number of statements per page), with the before/after
of every correction readable in Japanese."""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, cast, false, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..domain.vocabulary import JST, KIND_LABELS
from ..extensions import db
from ..models import Annex, Assessment, AuditEvent, Engagement, Evidence, Invitation, Response, User
from . import audit
from .engagements import FIELD_LABELS
from .listing import Page, paged_ids

PER_PAGE = 50

ACTION_LABELS = {
    "engagement.create": "案件の登録",
    "engagement.update": "案件の修正",
    "engagement.archive": "案件のアーカイブ",
    "engagement.restore": "案件の復元",
    "vendor.create": "事業者の登録",
    "vendor.update": "事業者の修正",
    "vendor.archive": "事業者のアーカイブ",
    "vendor.restore": "事業者の復元",
    "invitation.send": "回答依頼の送信",
    "invitation.revoke": "回答依頼の取消",
    "response.submit": "回答の提出",
    "assessment.approved": "審査：承認",
    "assessment.rejected": "審査：差戻し",
    "annex.issue": "特記事項の作成",
    "annex.signed": "特記事項の締結記録",
    "annex.download": "特記事項のダウンロード",
    "annex.download_docx": "特記事項（Word）のダウンロード",
    "annex.download_signed": "締結済み特記事項のダウンロード",
    "evidence.download": "証跡ファイルのダウンロード",
    "export.engagements": "案件一覧の書き出し",
    "export.findings": "指摘事項の書き出し",
    "export.answers": "回答の書き出し",
    "export.vendors": "事業者一覧の書き出し",
    "user.create": "利用者の登録",
    "user.login": "ログイン",
    "user.logout": "ログアウト",
    "user.password_changed": "パスワードの変更",
    "officer.create": "責任者の登録",
    "organisation.create": "団体の登録",
    "organisation.import_policy": "基本方針の取込み",
    "organisation.thresholds": "判定基準の変更",
    "organisation.article_override": "条文の変更",
    "organisation.article_reset": "条文を標準に戻す",
    "policy_edition.read": "基本方針の読み取り",
    "policy_edition.correct": "基本方針の読み取り結果の修正",
    "policy_edition.accept": "基本方針の版の確定",
    "policy_edition.discard": "基本方針の読み取り結果の破棄",
    "api_key.create": "APIキーの発行",
    "api_key.revoke": "APIキーの失効",
}


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(unicodedata.normalize("NFKC", str(value or "")).strip())
    except ValueError:
        return None


def _positive(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


@dataclass(frozen=True)
class AuditQuery:
    """The trail's filter, all in the URL (a bad value is ignored, never an error)."""

    actor: int | None = None  # a user id of the organisation
    engagement: str = ""  # 案件番号
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> AuditQuery:
        action = str(args.get("action") or "")
        return cls(
            actor=_positive(args.get("actor")),
            engagement=unicodedata.normalize("NFKC", str(args.get("engagement") or "")).strip()[:40],
            action=action if action in ACTION_LABELS else "",
            date_from=_date(args.get("date_from")),
            date_to=_date(args.get("date_to")),
            page=min(_positive(args.get("page")) or 1, 10**6),
        )

    def url_args(self, **changes: Any) -> dict[str, Any]:
        values = dataclasses.asdict(dataclasses.replace(self, **changes))
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in values.items()
                if v not in (None, "") and not (k == "page" and v == 1)}

    @property
    def filtered(self) -> bool:
        return any((self.actor, self.engagement, self.action, self.date_from, self.date_to))


def _ids_as_text(statement: Any) -> Any:
    return statement.with_only_columns(cast(statement.selected_columns[0], String))


def _about_engagement(engagement_id: int) -> ColumnElement[bool]:
    """The events about one engagement: its own, and those of its invitations, responses, evidence,
    assessments and annexes (audit events name their object by type and id)."""
    invitations = select(Invitation.id).where(Invitation.engagement_id == engagement_id)
    responses = select(Response.id).join(Invitation).where(Invitation.engagement_id == engagement_id)
    evidence = (select(Evidence.id).join(Response, Evidence.response_id == Response.id).join(Invitation)
                .where(Invitation.engagement_id == engagement_id))
    objects = {
        "invitation": invitations,
        "response": responses,
        "evidence": evidence,
        "assessment": select(Assessment.id).where(Assessment.engagement_id == engagement_id),
        "annex": select(Annex.id).where(Annex.engagement_id == engagement_id),
    }
    return or_(
        and_(AuditEvent.object_type == "engagement", AuditEvent.object_id == str(engagement_id)),
        *(and_(AuditEvent.object_type == kind, AuditEvent.object_id.in_(_ids_as_text(ids)))
          for kind, ids in objects.items()),
    )


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=JST).astimezone(dt.UTC)


def _conditions(organisation_id: int, query: AuditQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [AuditEvent.organisation_id == organisation_id]
    if query.actor:
        conditions.append(or_(AuditEvent.actor == f"user:{query.actor}",
                              AuditEvent.actor.startswith(f"user:{query.actor}:", autoescape=True)))
    if query.engagement:
        engagement_id = db.session.scalar(select(Engagement.id).filter_by(
            organisation_id=organisation_id, reference=query.engagement))
        conditions.append(_about_engagement(engagement_id) if engagement_id else false())
    if query.action:
        conditions.append(AuditEvent.action == query.action)
    if query.date_from:
        conditions.append(AuditEvent.at >= _day_start(query.date_from))
    if query.date_to:
        conditions.append(AuditEvent.at < _day_start(query.date_to + dt.timedelta(days=1)))
    return conditions


@dataclass
class TrailRow:
    event: AuditEvent
    actor_name: str
    action_label: str
    subject: str
    changes: list[tuple[str, str, str]]  # (field label, before, after)
    details: list[tuple[str, str]]


def show_value(name: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "（なし）"
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if name.endswith("_at") and isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value).astimezone(JST).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    if name == "kinds" and isinstance(value, list):
        return "、".join(KIND_LABELS.get(str(v), str(v)) for v in value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return "、".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


DETAIL_LABELS = {"reason": "理由", "to": "宛先", "note": "コメント", "filename": "ファイル名", "format": "形式",
                 "document_id": "文書番号", "signed_on": "締結日", "role": "役割", "article": "条",
                 "via": "経路", "name": "名称"}


def _row(event: AuditEvent, names: Any) -> TrailRow:
    data = event.data or {}
    subject = str(data.get("reference") or data.get("engagement") or data.get("name") or "")
    changes = [(FIELD_LABELS.get(k, k), show_value(k, v.get("before")), show_value(k, v.get("after")))
               for k, v in (data.get("changes") or {}).items() if isinstance(v, dict)]
    details = [(label, show_value(key, data[key])) for key, label in DETAIL_LABELS.items()
               if data.get(key) not in (None, "", [], {})]
    return TrailRow(event, names(event.actor), ACTION_LABELS.get(event.action, event.action), subject,
                    changes, details)


def trail_page(organisation_id: int, query: AuditQuery) -> Page:
    """The organisation's events matching the filter, newest first."""
    statement = (select(AuditEvent.id).where(*_conditions(organisation_id, query))
                 .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
    total, ids, page = paged_ids(statement, query.page, PER_PAGE)
    names = audit.actor_names(organisation_id)
    loaded = {e.id: e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)))} if ids else {}
    return Page([_row(loaded[i], names) for i in ids if i in loaded], total, page, PER_PAGE)


def actor_choices(organisation_id: int) -> list[tuple[int, str]]:
    return [(u.id, f"{u.name}（{u.role_label}）") for u in db.session.scalars(
        select(User).filter_by(organisation_id=organisation_id).order_by(User.id))]
