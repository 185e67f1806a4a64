"""Staff lists that scale: search, filters, sort and paging done in SQL, a fixed number of
statements per page whatever the number of rows (no per-row loading).

The lists: engagements (the staff dashboard), the reviewer's 審査待ち queue, vendors and legal's
annex list. A list's filter is a `ListQuery` parsed leniently from the URL (a bad value falls back
to its default, never an error), so every filtered view is a bookmarkable GET URL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Select, String, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import contains_eager
from sqlalchemy.sql.elements import ColumnElement

from ..domain import questionnaire as qdef
from ..domain.scoring import RATING_JA
from ..domain.vocabulary import ANNEX_STATES, ENGAGEMENT_STATES, JST, KINDS, RISK_LEVELS
from ..domain.wareki import date_time, long_date
from ..extensions import db
from ..models import (
    Annex,
    Answer,
    Assessment,
    Engagement,
    EngagementOfficer,
    Invitation,
    InvitationQuestionnaire,
    Officer,
    QuestionnaireVersion,
    Response,
    Vendor,
    utcnow,
)

PER_PAGE_CHOICES = (20, 50, 100)
DEFAULT_PER_PAGE = 50
DUE_SOON_DAYS = 7

ENGAGEMENT_SORTS = {
    "due": "期限が近い順（期限切れを先頭に）",
    "new": "登録が新しい順",
    "reference": "案件番号順",
    "title": "件名順",
    "vendor": "事業者名順",
}
QUEUE_SORTS = {
    "waiting": "提出が古い順（長く待っている順）",
    "risk": "固有リスクが高い順",
    "score": "点数が低い順",
    "reference": "案件番号順",
}
VENDOR_SORTS = {"name": "事業者名順", "new": "登録が新しい順", "number": "法人番号順"}
ANNEX_SORTS = {"pending": "特記事項が未作成のものを先頭に", "new": "承認が新しい順", "reference": "案件番号順"}
DUE_FILTERS = {
    "overdue": "回答期限切れ",
    "week": "今週（月〜日）が回答期限",
    "soon": f"{DUE_SOON_DAYS}日以内に回答期限",
}
# Archived vendors and engagements are hidden unless asked for.
ARCHIVE_FILTERS = {"archived": "アーカイブ済みだけ", "all": "アーカイブ済みも含める"}
ANNEX_FILTERS = {"none": "特記事項が未作成", "issued": "作成済み"}


def _int(value: Any, default: int | None, low: int, high: int) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return default
    return number if low <= number <= high else default


def _one_of(value: Any, allowed: Sequence[str] | Mapping[str, str], default: str = "") -> str:
    text = str(value or "")
    return text if text in allowed else default


@dataclass(frozen=True)
class ListQuery:
    """What a list shows: search text, filters, sort and page (all optional, all in the URL)."""

    q: str = ""
    state: str = ""
    kind: str = ""
    confidentiality: int | None = None
    officer: int | None = None
    department: str = ""  # 所管課: the department of one of the engagement's officers
    due: str = ""
    rating: str = ""
    risk: str = ""
    annex: str = ""
    archived: str = ""
    sort: str = ""
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, Any], sorts: Mapping[str, str]) -> ListQuery:
        q = unicodedata.normalize("NFKC", str(args.get("q") or "")).strip()[:100]
        per_page = _int(args.get("per_page"), DEFAULT_PER_PAGE, 1, max(PER_PAGE_CHOICES))
        return cls(
            q=q,
            state=_one_of(args.get("state"), ENGAGEMENT_STATES),
            kind=_one_of(args.get("kind"), KINDS),
            confidentiality=_int(args.get("confidentiality"), None, 1, 3),
            officer=_int(args.get("officer"), None, 1, 2**31 - 1),
            department=unicodedata.normalize("NFKC", str(args.get("department") or "")).strip()[:200],
            due=_one_of(args.get("due"), DUE_FILTERS),
            rating=_one_of(args.get("rating"), RATING_JA),
            risk=_one_of(args.get("risk"), RISK_LEVELS),
            annex=_one_of(args.get("annex"), ANNEX_FILTERS),
            archived=_one_of(args.get("archived"), ARCHIVE_FILTERS),
            sort=_one_of(args.get("sort"), sorts, next(iter(sorts))),
            page=_int(args.get("page"), 1, 1, 10**6) or 1,
            per_page=per_page if per_page in PER_PAGE_CHOICES else DEFAULT_PER_PAGE,
        )

    def url_args(self, **changes: Any) -> dict[str, Any]:
        """The query as URL arguments (defaults left out), with `changes` applied."""
        values = dataclasses.asdict(dataclasses.replace(self, **changes))
        defaults = {"page": 1, "per_page": DEFAULT_PER_PAGE}
        return {k: v for k, v in values.items() if v not in (None, "") and defaults.get(k) != v}

    @property
    def filtered(self) -> bool:
        return any((self.q, self.state, self.kind, self.confidentiality, self.officer, self.department, self.due,
                    self.rating, self.risk, self.annex, self.archived))


@dataclass
class Page:
    rows: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)


@dataclass
class Progress:
    answered: int
    visible: int
    last_saved: dt.datetime | None

    @property
    def label(self) -> str:
        saved = f"最終保存 {date_time(self.last_saved)}" if self.last_saved else "未保存"
        return f"{self.answered}/{self.visible} 項目・{saved}"


@dataclass
class EngagementRow:
    engagement: Engagement
    invitation: Invitation | None = None
    assessment: dict[str, Any] | None = None
    progress: Progress | None = None
    annexes: list[Annex] = field(default_factory=list)
    now: dt.datetime = field(default_factory=utcnow)

    @cached_property
    def due(self) -> dt.datetime | None:
        inv = self.invitation
        return inv.expires_at if inv is not None and inv.state == "open" else None

    @cached_property
    def overdue(self) -> bool:
        return self.due is not None and self.due < self.now

    @cached_property
    def due_soon(self) -> bool:
        return self.due is not None and not self.overdue and self.due < self.now + dt.timedelta(days=DUE_SOON_DAYS)

    @cached_property
    def due_label(self) -> str:
        inv = self.invitation
        return long_date(inv.due_date) if self.due and inv is not None else ""


def week_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """This week in Japan, Monday 0:00 to the next Monday 0:00 (JST), as UTC times."""
    today = now.astimezone(JST).date()
    monday = dt.datetime.combine(today - dt.timedelta(days=today.weekday()), dt.time(), tzinfo=JST)
    return monday.astimezone(dt.UTC), (monday + dt.timedelta(days=7)).astimezone(dt.UTC)


def archived_condition(column: Any, archived: str) -> ColumnElement[bool] | None:
    """Current rows by default; only the archived ones, or all (None: no condition)."""
    if archived == "all":
        return None
    return column.is_not(None) if archived == "archived" else column.is_(None)


# --- SQL pieces -------------------------------------------------------------------------------


def _like(column: Any, text: str) -> ColumnElement[bool]:
    return func.lower(column).contains(text.lower(), autoescape=True)


def _digits(text: str) -> str | None:
    """A 法人番号 typed with hyphens or spaces, as digits (None if the text is not a number)."""
    return re.sub(r"[\s\-‐－]", "", text) if re.fullmatch(r"[\d\s\-‐－]+", text) else None


def _engagement_search(text: str) -> ColumnElement[bool]:
    officer_match = exists().where(
        EngagementOfficer.engagement_id == Engagement.id, EngagementOfficer.officer_id == Officer.id,
        or_(_like(Officer.name, text), _like(Officer.department, text)),
    )
    terms = [_like(Engagement.title, text), _like(Engagement.reference, text), _like(Vendor.name, text),
             officer_match]
    digits = _digits(text)
    if digits:
        terms.append(Vendor.corporate_number.contains(digits, autoescape=True))
    return or_(*terms)


def _open_invitation_join() -> ColumnElement[bool]:
    """The engagement's open invitation: sending a new one revokes the open one
    (services.invitations.send_invitation), so there is at most one and the join adds no rows."""
    return and_(Invitation.engagement_id == Engagement.id, Invitation.state == "open")


def _latest_assessment_ids(engagement_ids: list[int]) -> Any:
    return (
        select(Assessment.engagement_id.label("engagement_id"), func.max(Assessment.id).label("assessment_id"))
        .where(Assessment.engagement_id.in_(engagement_ids)).group_by(Assessment.engagement_id).subquery()
    )


def _engagement_filters(query: ListQuery, now: dt.datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.q:
        conditions.append(_engagement_search(query.q))
    if query.state == "approved":  # 承認済み includes 条件付承認: both may have their annex issued
        conditions.append(Engagement.state.in_(ANNEX_STATES))
    elif query.state:
        conditions.append(Engagement.state == query.state)
    if query.kind:
        # kinds is a JSON list of fixed words: its text holds "kind" with the quotes.
        conditions.append(cast(Engagement.kinds, String).contains(f'"{query.kind}"'))
    if query.confidentiality:
        conditions.append(Engagement.confidentiality == query.confidentiality)
    if query.officer:
        conditions.append(exists().where(EngagementOfficer.engagement_id == Engagement.id,
                                         EngagementOfficer.officer_id == query.officer))
    if query.department:
        conditions.append(exists().where(
            EngagementOfficer.engagement_id == Engagement.id, EngagementOfficer.officer_id == Officer.id,
            Officer.organisation_id == Engagement.organisation_id, Officer.department == query.department))
    conditions += _due_filter(query.due, now)
    archived = archived_condition(Engagement.archived_at, query.archived)
    if archived is not None:
        conditions.append(archived)
    return conditions


def _due_filter(due: str, now: dt.datetime) -> list[ColumnElement[bool]]:
    if due == "overdue":
        return [Invitation.state == "open", Invitation.expires_at < now]
    if due == "week":
        start, end = week_bounds(now)
        return [Invitation.state == "open", Invitation.expires_at >= start, Invitation.expires_at < end]
    if due == "soon":
        return [Invitation.state == "open", Invitation.expires_at >= now,
                Invitation.expires_at < now + dt.timedelta(days=DUE_SOON_DAYS)]
    return []


def _base_engagements(organisation_id: int, query: ListQuery, now: dt.datetime) -> Select[Any]:
    """The ids of the matching engagements (narrow rows: sorting and counting stay cheap)."""
    return (
        select(Engagement.id)
        .join(Engagement.vendor)
        .outerjoin(Invitation, _open_invitation_join())
        .where(Engagement.organisation_id == organisation_id, *_engagement_filters(query, now))
    )


def _engagement_rows(ids: list[int], now: dt.datetime) -> list[EngagementRow]:
    """The page's engagements with their vendor and open invitation, in the order of `ids`."""
    if not ids:
        return []
    loaded = {
        e.id: EngagementRow(engagement=e, invitation=inv, now=now)
        for e, inv in db.session.execute(
            select(Engagement, Invitation).join(Engagement.vendor).outerjoin(Invitation, _open_invitation_join())
            .where(Engagement.id.in_(ids)).options(contains_eager(Engagement.vendor))
        )
    }
    return [loaded[i] for i in ids if i in loaded]


def _engagement_order(sort: str) -> list[Any]:
    if sort == "new":
        return [Engagement.id.desc()]
    if sort == "reference":
        return [Engagement.reference, Engagement.id]
    if sort == "title":
        return [Engagement.title, Engagement.id]
    if sort == "vendor":
        return [Vendor.name, Engagement.id]
    # Overdue and due soon first: open invitations by their deadline, then the rest, newest first.
    return [case((Invitation.id.is_(None), 1), else_=0), Invitation.expires_at, Engagement.id.desc()]


def _paged(statement: Select[Any], query: ListQuery) -> tuple[int, list[Any], int]:
    """(total, the ids on the page, the page number clamped to the last page)."""
    return paged_ids(statement, query.page, query.per_page)


def paged_ids(statement: Select[Any], page: int, per_page: int) -> tuple[int, list[Any], int]:
    """(total, the ids on the page, the page number clamped to the last page) of a statement of ids."""
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    ids = list(db.session.scalars(statement.limit(per_page).offset((page - 1) * per_page)))
    return total, ids, page


# --- engagements and the review queue ---------------------------------------------------------


def engagement_page(organisation_id: int, query: ListQuery) -> Page:
    """The dashboard: engagements filtered, sorted and paged, each with its open invitation, the
    contractor's progress on it, and the latest assessment."""
    now = utcnow()
    statement = _base_engagements(organisation_id, query, now).order_by(*_engagement_order(query.sort))
    total, ids, page = _paged(statement, query)
    rows = _engagement_rows(ids, now)
    _attach_assessments(rows)
    _attach_progress(rows)
    return Page(rows, total, page, query.per_page)


def _undecided_join() -> ColumnElement[bool]:
    """A submitted engagement's assessment awaiting a decision (one per submission, and a new
    submission needs the previous one decided first: at most one)."""
    return and_(Assessment.engagement_id == Engagement.id, Assessment.decision.is_(None))


def review_queue_page(organisation_id: int, query: ListQuery) -> Page:
    """審査待ち: submitted engagements whose assessment awaits a decision, oldest first."""
    now = utcnow()
    statement = (
        _base_engagements(organisation_id, dataclasses.replace(query, state="submitted"), now)
        .join(Assessment, _undecided_join())
    )
    if query.rating:
        statement = statement.where(Assessment.rating == query.rating)
    if query.risk:
        statement = statement.where(Assessment.inherent_risk == query.risk)
    risk_rank = case({"high": 0, "medium": 1, "low": 2}, value=Assessment.inherent_risk, else_=3)
    orders: dict[str, list[Any]] = {
        "waiting": [Assessment.created_at, Assessment.id],
        "risk": [risk_rank, Assessment.created_at],
        "score": [Assessment.score, Assessment.created_at],
        "reference": [Engagement.reference],
    }
    order = orders[query.sort]
    total, ids, page = _paged(statement.order_by(*order), query)
    rows = _engagement_rows(ids, now)
    _attach_assessments(rows)
    return Page(rows, total, page, query.per_page)


def review_queue_count(organisation_id: int) -> int:
    return db.session.scalar(
        select(func.count(Engagement.id)).join(Assessment, _undecided_join())
        .where(Engagement.organisation_id == organisation_id, Engagement.state == "submitted",
               Engagement.archived_at.is_(None))
    ) or 0


def _attach_assessments(rows: list[EngagementRow]) -> None:
    """The latest assessment of each row's engagement, in one query (small columns only)."""
    if not rows:
        return
    by_engagement = {r.engagement.id: r for r in rows}
    latest = _latest_assessment_ids(list(by_engagement))
    for item in db.session.execute(
        select(Assessment.engagement_id, Assessment.id, Assessment.score, Assessment.rating,
               Assessment.inherent_risk, Assessment.decision, Assessment.created_at)
        .join(latest, latest.c.assessment_id == Assessment.id)
        .where(Assessment.engagement_id.in_(list(by_engagement)))
    ):
        values = dict(item._mapping)
        values["rating_ja"] = RATING_JA.get(item.rating, item.rating)
        by_engagement[item.engagement_id].assessment = values


# Frozen definitions by content hash (the hash is the content: one process-wide cache is safe).
_THAWED: dict[str, qdef.Questionnaire] = {}


def _thawed_by_version(versions: set[str]) -> dict[str, qdef.Questionnaire]:
    missing = [v for v in versions if v not in _THAWED]
    if missing:
        for version, definition in db.session.execute(
            select(QuestionnaireVersion.version, QuestionnaireVersion.definition)
            .where(QuestionnaireVersion.version.in_(missing))
        ):
            _THAWED.setdefault(version, qdef.thaw(definition))
    return {v: _THAWED[v] for v in versions}


def _questionnaires_by_invitation(invitation_ids: list[int]) -> dict[int, list[qdef.Questionnaire]]:
    """The frozen questionnaires of each invitation; definitions come from the process cache by
    their content hash, and only the ones not cached yet are read (one query)."""
    links = db.session.execute(
        select(InvitationQuestionnaire.invitation_id, QuestionnaireVersion.version)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == InvitationQuestionnaire.questionnaire_version_id)
        .where(InvitationQuestionnaire.invitation_id.in_(invitation_ids))
        .order_by(InvitationQuestionnaire.invitation_id, InvitationQuestionnaire.position)
    ).all()
    thawed = _thawed_by_version({version for _, version in links})
    out: dict[int, list[qdef.Questionnaire]] = {i: [] for i in invitation_ids}
    for invitation_id, version in links:
        out[invitation_id].append(thawed[version])
    return out


# (questionnaire versions, engagement profile) → its applicable questions; a handful of combinations
# repeat over a whole list. Keyed by content hashes, so it never goes stale.
_APPLICABLE: dict[tuple[Any, ...], tuple[list[qdef.Question], dict[str, qdef.Question]]] = {}


def _visible(questionnaires: list[qdef.Questionnaire], answers: dict[str, Any],
             profile: dict[str, Any]) -> list[qdef.Question]:
    """As `domain.questionnaire.visible_questions`, with the applicable questions cached."""
    key = (tuple(q.version for q in questionnaires),
           tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in profile.items())))
    if key not in _APPLICABLE:
        if len(_APPLICABLE) > 1024:
            _APPLICABLE.clear()
        by_id = {q.id: q for qn in questionnaires for q in qn.questions()}
        _APPLICABLE[key] = ([q for qn in questionnaires for q in qn.applicable(profile)], by_id)
    applicable, by_id = _APPLICABLE[key]
    return [q for q in applicable
            if qdef.shown_when_target(q) is None or qdef.is_shown(q, answers, by_id, profile)]


def _attach_progress(rows: list[EngagementRow]) -> None:
    """「5/8 項目・最終保存 12月3日」 for each open invitation: two queries for the whole page."""
    open_rows = {r.invitation.id: r for r in rows if r.invitation is not None and r.invitation.state == "open"}
    if not open_rows:
        return
    questionnaires = _questionnaires_by_invitation(list(open_rows))
    given: dict[int, dict[str, Any]] = {i: {} for i in open_rows}
    saved: dict[int, dt.datetime] = {}
    for invitation_id, question_id, value, updated in db.session.execute(
        select(Response.invitation_id, Answer.question_id, Answer.value, Answer.updated_at)
        .join(Answer, Answer.response_id == Response.id).where(Response.invitation_id.in_(list(open_rows)))
    ):
        given[invitation_id][question_id] = value
        if invitation_id not in saved or updated > saved[invitation_id]:
            saved[invitation_id] = updated
    for invitation_id, row in open_rows.items():
        answers = given[invitation_id]
        shown = _visible(questionnaires[invitation_id], answers, row.engagement.profile())
        answered = sum(1 for q in shown if qdef.ANSWER_TYPES[q.type].is_answered(answers.get(q.id)))
        row.progress = Progress(answered, len(shown), saved.get(invitation_id))


# --- vendors ----------------------------------------------------------------------------------


@dataclass
class VendorRow:
    vendor: Vendor
    engagements: int


def _vendor_search(text: str) -> ColumnElement[bool]:
    terms = [_like(Vendor.name, text), _like(Vendor.address, text), _like(Vendor.representative, text)]
    digits = _digits(text)
    if digits:
        terms.append(Vendor.corporate_number.contains(digits, autoescape=True))
    return or_(*terms)


def vendor_page(organisation_id: int, query: ListQuery) -> Page:
    statement = select(Vendor.id).where(Vendor.organisation_id == organisation_id)
    archived = archived_condition(Vendor.archived_at, query.archived)
    if archived is not None:
        statement = statement.where(archived)
    if query.q:
        statement = statement.where(_vendor_search(query.q))
    orders: dict[str, list[Any]] = {
        "name": [Vendor.name, Vendor.id],
        "new": [Vendor.id.desc()],
        "number": [Vendor.corporate_number, Vendor.id],
    }
    order = orders[query.sort]
    total, ids, page = _paged(statement.order_by(*order), query)
    loaded = {v.id: v for v in db.session.scalars(select(Vendor).where(Vendor.id.in_(ids)))} if ids else {}
    counts: dict[int, int] = dict(db.session.execute(
        select(Engagement.vendor_id, func.count(Engagement.id)).where(Engagement.vendor_id.in_(ids))
        .group_by(Engagement.vendor_id)
    ).all()) if ids else {}
    rows = [VendorRow(loaded[i], counts.get(i, 0)) for i in ids if i in loaded]
    return Page(rows, total, page, query.per_page)


def vendor_choices(organisation_id: int, text: str, limit: int = 20) -> list[Vendor]:
    """A short list of vendors matching what was typed (the engagement form's vendor search)."""
    text = unicodedata.normalize("NFKC", text or "").strip()[:100]
    if not text:
        return []
    return list(db.session.scalars(
        select(Vendor).where(Vendor.organisation_id == organisation_id, Vendor.archived_at.is_(None),
                             _vendor_search(text))
        .order_by(Vendor.name, Vendor.id).limit(limit)
    ))


def organisation_has_vendors(organisation_id: int) -> bool:
    return db.session.scalar(select(Vendor.id).filter_by(organisation_id=organisation_id).limit(1)) is not None


# --- legal: approved engagements and their annexes --------------------------------------------


def annex_page(organisation_id: int, query: ListQuery) -> Page:
    """Approved engagements with their annex versions (newest first), paged; versions in one query."""
    now = utcnow()
    has_annex = exists().where(Annex.engagement_id == Engagement.id)
    statement = _base_engagements(organisation_id, dataclasses.replace(query, state="approved"), now)
    if query.annex == "none":
        statement = statement.where(~has_annex)
    elif query.annex == "issued":
        statement = statement.where(has_annex)
    orders: dict[str, list[Any]] = {
        "pending": [case((has_annex, 1), else_=0), Engagement.id.desc()],
        "new": [Engagement.id.desc()],
        "reference": [Engagement.reference],
    }
    order = orders[query.sort]
    total, ids, page = _paged(statement.order_by(*order), query)
    rows = _engagement_rows(ids, now)
    by_id = {r.engagement.id: r for r in rows}
    if by_id:
        for annex in db.session.scalars(
            select(Annex).where(Annex.engagement_id.in_(list(by_id))).order_by(Annex.version.desc())
        ):
            by_id[annex.engagement_id].annexes.append(annex)
    return Page(rows, total, page, query.per_page)


def department_choices(organisation_id: int) -> list[tuple[str, str]]:
    """The organisation's 所管課: the departments its officers belong to."""
    return [(d, d) for d in db.session.scalars(
        select(Officer.department).where(Officer.organisation_id == organisation_id, Officer.department != "")
        .distinct().order_by(Officer.department))]


def officer_choices(organisation_id: int) -> list[tuple[int, str]]:
    return [
        (o.id, f"{o.name}（{o.department or o.role_title}）")
        for o in db.session.scalars(select(Officer).filter_by(organisation_id=organisation_id).order_by(Officer.id))
    ]


# --- every matching row (exports) -------------------------------------------------------------

EXPORT_CHUNK = 500


def iter_engagements(organisation_id: int, query: ListQuery, *, progress: bool = True) -> Iterator[EngagementRow]:
    """Every engagement matching the list's filter, in the list's order, a chunk at a time
    (the statements grow with the chunks, never with the rows)."""
    now = utcnow()
    ids = list(db.session.scalars(
        _base_engagements(organisation_id, query, now).order_by(*_engagement_order(query.sort))))
    for start in range(0, len(ids), EXPORT_CHUNK):
        chunk = _engagement_rows(ids[start:start + EXPORT_CHUNK], now)
        _attach_assessments(chunk)
        if progress:
            _attach_progress(chunk)
        yield from chunk


def iter_vendors(organisation_id: int, query: ListQuery) -> Iterator[VendorRow]:
    offset = 0
    while True:
        page = vendor_page(organisation_id, dataclasses.replace(query, per_page=EXPORT_CHUNK, page=1 + offset))
        if page.page != 1 + offset or not page.rows:
            return
        yield from page.rows
        offset += 1


def questionnaires_by_invitation(invitation_ids: list[int]) -> dict[int, list[qdef.Questionnaire]]:
    return _questionnaires_by_invitation(invitation_ids)
