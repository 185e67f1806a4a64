"""Exports of the staff lists (#9 item 6): engagements, vendors, answers (one row per question) and
findings, filtered like the list they come from, as CSV (UTF-8 with BOM) or XLSX.

Every cell goes through `adapters.export`, which neutralises text a spreadsheet would run as a
formula (= + - @, a tab): a contractor's answer is data, never a formula."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..adapters import export
from ..domain import questionnaire as qdef
from ..domain.vocabulary import DECISION_LABELS, JST, RISK_LABELS
from ..extensions import db
from ..models import Answer, Assessment, Response
from . import listing
from .listing import EngagementRow, ListQuery


@dataclass(frozen=True)
class Table:
    title: str  # sheet title and Japanese file name stem
    slug: str  # ASCII file name stem
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]


EXPORTS = {
    "engagements": "案件一覧",
    "vendors": "事業者一覧",
    "answers": "回答一覧",
    "findings": "指摘事項一覧",
}
FORMATS = ("csv", "xlsx")


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(JST).replace(tzinfo=None) if value else None


def _engagement_cells(row: EngagementRow) -> list[Any]:
    e = row.engagement
    return [e.reference, e.title, e.vendor.name, e.vendor.corporate_number or ""]


def _engagement_rows(rows: Iterable[EngagementRow]) -> Iterator[list[Any]]:
    for row in rows:
        e, a = row.engagement, row.assessment
        yield [
            *_engagement_cells(row), "、".join(e.kind_labels), e.confidentiality, e.integrity, e.availability,
            e.personal_data, e.my_number, e.state_label,
            row.due.astimezone(JST).date() if row.due else None,
            "期限切れ" if row.overdue else "",
            row.progress.label if row.progress else PROGRESS_BY_STATE.get(e.state, ""),
            a["rating_ja"] if a else "", a["score"] if a else None,
            RISK_LABELS.get(a["inherent_risk"], "") if a else "",
            DECISION_LABELS.get(a["decision"] or "", "") if a else "",
            e.period_start, e.period_end, _local(e.created_at),
        ]


PROGRESS_BY_STATE = {
    "draft": "未送信", "submitted": "提出済み", "clarification": "確認依頼中", "in_approval": "提出済み",
    "approved": "提出済み", "conditional": "提出済み", "rejected": "差戻し", "declined": "提出済み",
}
ENGAGEMENT_HEADERS = [
    "案件番号", "件名", "事業者名", "法人番号", "種別", "機密性", "完全性", "可用性", "個人情報", "マイナンバー",
    "状態", "回答期限", "期限切れ", "回答状況", "評価", "点数", "固有リスク", "判定", "契約期間（開始）",
    "契約期間（終了）", "登録日時",
]


def engagements_table(organisation_id: int, query: ListQuery) -> Table:
    rows = _engagement_rows(listing.iter_engagements(organisation_id, query))
    return Table(EXPORTS["engagements"], "engagements", ENGAGEMENT_HEADERS, rows)


def vendors_table(organisation_id: int, query: ListQuery) -> Table:
    rows = (
        [r.vendor.name, r.vendor.corporate_number or "", r.vendor.address, r.vendor.representative,
         r.vendor.contact_email, r.engagements, _local(r.vendor.created_at)]
        for r in listing.iter_vendors(organisation_id, query)
    )
    headers = ["事業者名", "法人番号", "所在地", "代表者", "連絡先メールアドレス", "案件数", "登録日時"]
    return Table(EXPORTS["vendors"], "vendors", headers, rows)


def _chunks(rows: Iterable[EngagementRow], size: int = listing.EXPORT_CHUNK) -> Iterator[list[EngagementRow]]:
    chunk: list[EngagementRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _answers_of(invitation_ids: list[int]) -> dict[int, tuple[str, dict[str, Any]]]:
    """Each invitation's answers: the frozen ones once submitted, the draft otherwise (two queries)."""
    out: dict[int, tuple[str, dict[str, Any]]] = {}
    drafts: dict[int, int] = {}
    for invitation_id, response_id, state, frozen in db.session.execute(
        select(Response.invitation_id, Response.id, Response.state, Response.frozen_answers)
        .where(Response.invitation_id.in_(invitation_ids))
    ):
        if state == "submitted" and frozen is not None:
            out[invitation_id] = ("提出済み", dict(frozen))
        else:
            out[invitation_id] = ("下書き", {})
            drafts[response_id] = invitation_id
    if drafts:
        for response_id, question_id, value in db.session.execute(
            select(Answer.response_id, Answer.question_id, Answer.value).where(Answer.response_id.in_(list(drafts)))
        ):
            out[drafts[response_id]][1][question_id] = value
    return out


def _display(question: qdef.Question, value: Any) -> str:
    answer_type = qdef.ANSWER_TYPES[question.type]
    return str(answer_type.display(question, value)) if answer_type.is_answered(value) else "未回答"


def _answer_rows(organisation_id: int, query: ListQuery) -> Iterator[list[Any]]:
    for chunk in _chunks(listing.iter_engagements(organisation_id, query, progress=False)):
        invited = [r for r in chunk if r.invitation is not None]
        ids = [r.invitation.id for r in invited if r.invitation is not None]
        if not ids:
            continue
        questionnaires = listing.questionnaires_by_invitation(ids)
        answers = _answers_of(ids)
        for row in invited:
            assert row.invitation is not None
            state, given = answers.get(row.invitation.id, ("下書き", {}))
            shown = {q.id for q in qdef.visible_questions(questionnaires[row.invitation.id], given,
                                                          row.engagement.profile())}
            for qn in questionnaires[row.invitation.id]:
                for section in qn.sections:
                    for question in section.questions:
                        if question.id in shown:
                            yield [*_engagement_cells(row), state, qn.title_ja, section.title_ja, question.id,
                                   question.text_ja, _display(question, given.get(question.id))]


def answers_table(organisation_id: int, query: ListQuery) -> Table:
    headers = ["案件番号", "件名", "事業者名", "法人番号", "回答の状態", "質問票", "セクション", "設問ID", "設問",
               "回答"]
    return Table(EXPORTS["answers"], "answers", headers, _answer_rows(organisation_id, query))


def _finding_rows(organisation_id: int, query: ListQuery) -> Iterator[list[Any]]:
    for chunk in _chunks(listing.iter_engagements(organisation_id, query, progress=False)):
        by_id = {r.engagement.id: r for r in chunk if r.assessment is not None}
        if not by_id:
            continue
        results: dict[int, Any] = dict(db.session.execute(
            select(Assessment.id, Assessment.result)
            .where(Assessment.id.in_([r.assessment["id"] for r in by_id.values() if r.assessment]))
        ).all())
        for row in by_id.values():
            assert row.assessment is not None
            for f in (results.get(row.assessment["id"]) or {}).get("findings", []):
                yield [
                    *_engagement_cells(row), row.assessment["rating_ja"], f.get("question_id"),
                    f.get("question_text"), f.get("answer_display"), f.get("why"), f.get("remediation"),
                    f.get("severity_ja"), f.get("deadline") or "", f.get("must_pass", False),
                ]


def findings_table(organisation_id: int, query: ListQuery) -> Table:
    headers = ["案件番号", "件名", "事業者名", "法人番号", "評価", "設問ID", "設問", "回答", "指摘の理由", "是正の内容",
               "重要度", "是正期限", "必須項目"]
    return Table(EXPORTS["findings"], "findings", headers, _finding_rows(organisation_id, query))


TABLES = {
    "engagements": engagements_table,
    "vendors": vendors_table,
    "answers": answers_table,
    "findings": findings_table,
}


def render(table: Table, fmt: str) -> bytes:
    if fmt == "xlsx":
        return export.to_xlsx(table.title, table.headers, table.rows)
    return export.to_csv(table.headers, table.rows)
