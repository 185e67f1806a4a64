"""Answering: save answers (a draft), which questions show, submit and score."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.attributes import set_committed_value

from ..domain import questionnaire as qdef
from ..domain import scoring
from ..domain.vocabulary import canonical_sha256
from ..extensions import db
from ..models import (
    Answer,
    Assessment,
    Engagement,
    Invitation,
    InvitationQuestionnaire,
    QuestionnaireVersion,
    Response,
    StateError,
    utcnow,
)
from . import audit
from .definitions import ContentKey, content_key, invitation_questionnaires


def _response_of(invitation: Invitation) -> Response:
    response = invitation.response
    assert response is not None, "every invitation is created with its response"
    return response


RESPONSES = cast(Table, Response.__table__)
ANSWERS = cast(Table, Answer.__table__)
RESPONSE_COLUMNS = Response.__mapper__.column_attrs
RESPONSE_RELATIONSHIPS = [r.key for r in Response.__mapper__.relationships]
# The statements of every save, built once (building one and its cache key costs about what running it does).
_LOCK = (update(RESPONSES)
         .where(RESPONSES.c.id == bindparam("response_id"), RESPONSES.c.state.in_(("draft", "reopened")))
         .values(updated_at=bindparam("now", type_=RESPONSES.c.updated_at.type)).returning(*RESPONSES.c))
_SWAP = (update(ANSWERS)
         .where(ANSWERS.c.id == bindparam("answer_id"), ANSWERS.c.version == bindparam("seen"))
         .values(value=bindparam("new_value", type_=ANSWERS.c.value.type), version=bindparam("new_version"),
                 updated_at=bindparam("now", type_=ANSWERS.c.updated_at.type)))
_STORED = select(Answer).where(Answer.response_id == bindparam("response_id"),
                               Answer.question_id.in_(bindparam("qids", expanding=True)))


class Busy(RuntimeError):
    """The database could not give the write lock in time (SQLite under overload): nothing was saved."""


BUSY_MESSAGE = ("ただいま混み合っているため、保存できませんでした。入力内容はこの画面に残っています。"
                "少し待ってから、もう一度保存してください。")


def lock_draft(response: Response) -> None:
    """Take the response's write lock and re-check, inside it, that the response is still a draft.

    One UPDATE does both on every backend: on PostgreSQL it locks the row until the commit (like
    SELECT … FOR UPDATE, and a waiting UPDATE re-reads the state once the other commits); on SQLite
    it opens the write transaction. Saves and the submit of one response therefore run one after
    the other: a save racing the submit is either in the submitted answers or refused."""
    try:
        # RETURNING refreshes the response in the same statement: what is read from here on
        # (sections done, carried-over answers, reopened questions) is read inside the lock.
        # Core, not an ORM bulk UPDATE: this runs on every save.
        locked = db.session.connection().execute(_LOCK, {"response_id": response.id, "now": utcnow()}).first()
    except OperationalError as exc:
        if "locked" not in str(exc).lower():
            raise
        db.session.rollback()
        raise Busy(BUSY_MESSAGE) from exc
    if locked is None:
        db.session.expire(response)  # submitted meanwhile: read again, as the other saw it
        raise StateError("この回答は提出済みのため変更できません。")
    for attribute in RESPONSE_COLUMNS:
        set_committed_value(response, attribute.key, locked._mapping[attribute.columns[0]])
    # Collections read before the lock (the answers) are read again, inside it, when next used.
    db.session.expire(response, RESPONSE_RELATIONSHIPS)


def value_digest(value: Any) -> str:
    """A short fingerprint of an answer as a page showed it (the page sends it back on save)."""
    return canonical_sha256(value)[:16]


@dataclass(frozen=True)
class Base:
    """What a page was rendered with, for one question: the answer's version and its fingerprint."""

    version: int
    digest: str

    @classmethod
    def parse(cls, raw: str | None) -> Base | None:
        """`"3.ab12…"` as the page sends it; None when absent or malformed (no check then)."""
        version, _, digest = (raw or "").partition(".")
        if not version.isdigit() or len(version) > 9 or not digest:
            return None
        return cls(int(version), digest[:16])

    def render(self) -> str:
        return f"{self.version}.{self.digest}"


@dataclass(frozen=True)
class Conflict:
    """A newer saved answer than the one the page was rendered with."""

    value: Any
    version: int
    updated_at: dt.datetime | None


@dataclass
class SaveResult:
    versions: dict[str, Base] = field(default_factory=dict)  # every question looked at, as stored now
    written: set[str] = field(default_factory=set)
    conflicts: dict[str, Conflict] = field(default_factory=dict)
    missing: list[qdef.Question] = field(default_factory=list)  # why a section could not be marked 完了


def _mark_section(response: Response, section: str, done: bool) -> None:
    # Read and written inside the response lock (see lock_draft): two tabs marking two sections keep both.
    finished = [s for s in (response.completed_sections or []) if s != section]
    if done:
        finished.append(section)
    response.completed_sections = finished


def _stored(response: Response, qids: list[str]) -> dict[str, Answer]:
    """Only the answers asked for (never every answer of the response)."""
    if not qids:
        return {}
    rows = db.session.scalars(_STORED, {"response_id": response.id, "qids": qids})
    return {a.question_id: a for a in rows}


def stored_values(response: Response, qids: list[str]) -> dict[str, Any]:
    """The stored answers of these questions only (a section page)."""
    if response.state == "submitted" and response.frozen_answers is not None:
        return {q: v for q, v in response.frozen_answers.items() if q in set(qids)}
    return {qid: a.value for qid, a in _stored(response, qids).items()}


def stored_bases(response: Response, qids: list[str]) -> dict[str, Base]:
    """Version and fingerprint of each of these questions as stored now (0 = never answered)."""
    stored = _stored(response, qids)
    return {qid: Base(stored[qid].version, value_digest(stored[qid].value)) if qid in stored
            else Base(0, value_digest(None)) for qid in qids}


def _apply(response: Response, values: dict[str, Any], base: dict[str, Base], result: SaveResult,
           existing: dict[str, Answer] | None = None) -> list[Answer]:
    """Write each changed answer whose page was not stale; the new (first) answers are returned unflushed.

    `existing` may have been read before the response lock was taken (so that the lock is held for
    the writes only): each update is then a compare-and-swap on the version read, and an answer
    written meanwhile is read again, inside the lock, and decided again."""
    if existing is None:
        existing = _stored(response, list(values))
    new = []
    for qid, value in values.items():
        row = existing.get(qid)
        current = row.version if row is not None else 0
        stored_value = row.value if row is not None else None
        rendered = base.get(qid)
        if (rendered is not None and rendered.digest == value_digest(value)) or stored_value == value:
            # not changed on this page (or already so): nothing is written
            result.versions[qid] = Base(current, value_digest(stored_value))
            continue
        if rendered is not None and rendered.version < current:
            assert row is not None
            result.conflicts[qid] = Conflict(row.value, row.version, row.updated_at)
            result.versions[qid] = Base(current, value_digest(stored_value))
            continue
        if row is None:
            new.append(Answer(response_id=response.id, question_id=qid, value=value, version=1))
        elif not _swap(row, value):  # written since it was read: decide again on what is stored now
            new += _apply(response, {qid: value}, base, result, {qid: _reread(row)})
            continue
        result.written.add(qid)
        result.versions[qid] = Base(current + 1, value_digest(value))
    return new


def _swap(row: Answer, value: Any) -> bool:
    """Write the answer if its version is still the one read (the session's copy follows)."""
    now = utcnow()
    swapped = db.session.connection().execute(_SWAP, {"answer_id": row.id, "seen": row.version, "new_value": value,
                                                      "new_version": row.version + 1, "now": now})
    if swapped.rowcount != 1:
        return False
    for key, new_value in (("value", value), ("version", row.version + 1), ("updated_at", now)):
        set_committed_value(row, key, new_value)
    return True


def _reread(row: Answer) -> Answer:
    fresh = db.session.scalars(
        select(Answer).where(Answer.id == row.id).execution_options(populate_existing=True)
    ).one()
    return fresh


def _insert(response: Response, new: list[Answer], values: dict[str, Any], base: dict[str, Base],
            result: SaveResult) -> None:
    """First answers, in a savepoint: if a first save of the same question landed meanwhile (the
    unique constraint), they are written again as updates of that answer."""
    if not new:
        return
    try:
        with db.session.begin_nested():
            db.session.add_all(new)
    except IntegrityError:
        retry = {a.question_id: values[a.question_id] for a in new}
        for qid in retry:
            result.written.discard(qid)
        again = _apply(response, retry, base, result)
        db.session.add_all(again)
        db.session.flush()


def save_answers(invitation: Invitation, values: dict[str, Any], *, base: dict[str, Base] | None = None,
                 completed_section: str | None = None, section_done: bool | None = None,
                 section_questions: list[qdef.Question] | None = None) -> SaveResult:
    """Upsert the given answers (already normalised by the form layer), under the response lock.

    `base` holds what the page was rendered with: an answer the page did not change is not
    written, and one whose stored version is newer than the page's is refused (a conflict).
    Marking a section 完了 needs its required (shown) questions answered (`section_questions`).
    Saving is also when the contractor's visit is recorded (`last_opened_at`): opening a page
    writes nothing."""
    response = _response_of(invitation)
    given = values
    values = with_shared_copies(invitation, given)
    # Read before the lock (compare-and-swap in _apply): the lock is held for the writes only. On
    # SQLite the lock is the one writer's, and a peak of saves queues on it.
    read = _stored(response, list(values))
    lock_draft(response)
    reopened = {key for qid in response.reopened_questions or [] for key in (qid, qdef.note_key(qid),
                                                                             qdef.evidence_key(qid))}
    if response.state == "reopened" and set(given) - reopened:
        raise StateError("確認を求められた設問の回答だけ変更できます。その他の回答は提出したときのままです。")
    base = base or {}
    result = SaveResult()
    _insert(response, _apply(response, values, base, result, read), values, base, result)
    db.session.flush()
    confirmed = set(result.written)  # a carried-over answer changed is an answer given
    if completed_section is None and not base:
        # a whole set of answers given at once (a filled-in workbook, the demo): each one given is confirmed
        confirmed |= set(values)
    if completed_section is not None and section_done is not None:
        if section_done and section_questions is not None:
            result.missing = _missing_in(invitation, section_questions)
        _mark_section(response, completed_section, section_done and not result.missing)
        if section_done and not result.missing and section_questions is not None:
            confirmed |= {q.id for q in section_questions}  # 「完了」: every answer on it was looked at
    _confirm(response, confirmed)
    _record_visit(invitation)
    db.session.flush()
    return result


VISIT_GRANULARITY = dt.timedelta(minutes=5)


def _record_visit(invitation: Invitation) -> None:
    """`last_opened_at`, to within a few minutes: an autosave every few seconds does not rewrite the
    invitation each time (the response's own updated_at has the exact time of the last save)."""
    now = utcnow()
    if invitation.last_opened_at is None or now - invitation.last_opened_at >= VISIT_GRANULARITY:
        invitation.last_opened_at = now


def _confirm(response: Response, qids: set[str]) -> None:
    carried = response.carried_over or {}
    touched = {q for q in qids if q in carried and not carried[q].get("confirmed")}
    if touched:
        response.carried_over = {q: ({**entry, "confirmed": True} if q in touched else entry)
                                 for q, entry in carried.items()}


def unconfirmed(invitation: Invitation) -> set[str]:
    """Answers carried over from the last approved assessment that the contractor has neither
    confirmed (marked their section 完了) nor changed."""
    carried = _response_of(invitation).carried_over or {}
    return {q for q, entry in carried.items() if not entry.get("confirmed")}


def carried_summary(invitation: Invitation | None) -> dict[str, Any] | None:
    """For staff: how many answers came from the last approved assessment, and which of them the
    contractor kept, changed or has not confirmed yet (question ids by outcome)."""
    if invitation is None or invitation.response is None or not invitation.response.carried_over:
        return None
    carried = invitation.response.carried_over
    given = invitation.response.answer_map()
    kept = sorted(q for q, e in carried.items() if e.get("confirmed") and e.get("digest") == value_digest(given.get(q)))
    changed = sorted(q for q, e in carried.items() if e.get("digest") != value_digest(given.get(q)))
    pending = sorted(q for q, e in carried.items() if not e.get("confirmed") and q not in changed)
    return {"total": len(carried), "kept": len(kept), "changed": len(changed), "pending": len(pending),
            "kept_ids": kept, "changed_ids": changed}


def changes_since_last(invitation: Invitation | None) -> dict[str, str] | None:
    """For the reviewer of a re-assessment: question id → how its answer differs from the last approved
    assessment (「前回から変更」, or 「前回は未回答」 for an answer given now where none was carried
    over; evidence files are attached anew each time and not marked). None if nothing was carried over."""
    summary = carried_summary(invitation)
    if summary is None:
        return None
    assert invitation is not None and invitation.response is not None
    carried = invitation.response.carried_over or {}
    marks = {q: "前回から変更" for q in summary["changed_ids"]}
    given = invitation.response.answer_map()
    for questionnaire in invitation_questionnaires(invitation):
        for question in questionnaire.questions():
            if (question.id not in carried and question.type != "file"
                    and qdef.ANSWER_TYPES[question.type].is_answered(given.get(question.id))):
                marks[question.id] = "前回は未回答"
    return marks


def _last_approved(engagement: Engagement, questionnaire_id: str) -> Response | None:
    """The response of the vendor's newest approved assessment that answered this questionnaire."""
    return db.session.scalars(
        select(Response)
        .join(Assessment, Assessment.response_id == Response.id)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(Engagement, Engagement.id == Invitation.engagement_id)
        .join(InvitationQuestionnaire, InvitationQuestionnaire.invitation_id == Invitation.id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == InvitationQuestionnaire.questionnaire_version_id)
        .where(Engagement.vendor_id == engagement.vendor_id,
               Engagement.organisation_id == engagement.organisation_id,
               Assessment.decision == "approved", Response.state == "submitted",
               QuestionnaireVersion.questionnaire_id == questionnaire_id)
        .order_by(Assessment.decided_at.desc(), Assessment.id.desc())
        .limit(1)
    ).first()


def _carried_value(question: qdef.Question, value: Any) -> Any:
    """An earlier answer as this version of the question accepts it; None if it no longer fits."""
    kind = qdef.ANSWER_TYPES[question.type]
    if question.type == "file" or not kind.is_answered(value):
        return None  # evidence files belong to their own response: attached again if still valid
    try:
        return kind.normalize(value, question)
    except (qdef.AnswerError, TypeError, ValueError, AttributeError):
        return None


def prefill_from_last_approved(invitation: Invitation) -> int:
    """Pre-fill a new invitation's answers from the vendor's last approved assessment of the same
    questionnaire (each marked 「前回の回答」 until confirmed or changed); how many were filled."""
    response = _response_of(invitation)
    profile = invitation.engagement.profile()
    carried: dict[str, Any] = {}
    for questionnaire in invitation_questionnaires(invitation):
        previous = _last_approved(invitation.engagement, questionnaire.id)
        if previous is None:
            continue
        given = previous.answer_map()
        for question in questionnaire.applicable(profile):
            if question.id in carried:
                continue
            value = _carried_value(question, given.get(question.id))
            if value is None:
                continue
            db.session.add(Answer(response_id=response.id, question_id=question.id, value=value, version=1))
            carried[question.id] = {"from": previous.id, "digest": value_digest(value), "confirmed": False}
    response.carried_over = carried or None
    db.session.flush()
    return len(carried)


def shared_copies(invitation: Invitation) -> dict[str, list[str]]:
    """Question asked → the questions of the invitation's other questionnaires that take its answer
    (the contractor's people and sites, entered once). Cached per process by the definitions'
    content hashes and the engagement profile, which decide it entirely."""
    questionnaires = invitation_questionnaires(invitation)
    profile = invitation.engagement.profile()
    key = content_key(questionnaires, profile)
    cached = _SHARED.get(key)
    if cached is None:
        if len(_SHARED) >= 256:
            _SHARED.clear()
        cached = _SHARED[key] = qdef.shared_questions(questionnaires, profile)
    return cached


_SHARED: dict[ContentKey, dict[str, list[str]]] = {}


def copied_ids(invitation: Invitation) -> set[str]:
    """The questions never asked on a page: they take another question's answer."""
    return {c for copies in shared_copies(invitation).values() for c in copies}


def with_shared_copies(invitation: Invitation, values: dict[str, Any]) -> dict[str, Any]:
    """The values, plus each asked question's answer for the questions that share it."""
    out = dict(values)
    for asked, copies in shared_copies(invitation).items():
        if asked in values:
            out.update(dict.fromkeys(copies, values[asked]))
    return out


def _missing_in(invitation: Invitation, questions: list[qdef.Question]) -> list[qdef.Question]:
    shown = visible_ids(invitation)
    given = _response_of(invitation).answer_map()
    return [q for q in questions if q.id in shown and _lacking(q, given)]


def _lacking(q: qdef.Question, given: dict[str, Any]) -> bool:
    """A required question without an answer, or an answer whose 補足 the bank requires without one."""
    value = given.get(q.id)
    if q.required and not qdef.ANSWER_TYPES[q.type].is_answered(value):
        return True
    return q.note_required(value) and not given.get(qdef.note_key(q.id))


def visible_questions(invitation: Invitation, answers: dict[str, Any] | None = None) -> list[qdef.Question]:
    """The applicable questions currently shown (`shown_when` follows the answers so far)."""
    if answers is None:
        answers = invitation.response.answer_map() if invitation.response else {}
    return qdef.visible_questions(invitation_questionnaires(invitation), answers, invitation.engagement.profile())


def visible_ids(invitation: Invitation, answers: dict[str, Any] | None = None) -> set[str]:
    return {q.id for q in visible_questions(invitation, answers)}


def missing_required(invitation: Invitation) -> list[qdef.Question]:
    """Required, applicable, shown questions that have no answer yet."""
    answers = invitation.response.answer_map() if invitation.response else {}
    copied = copied_ids(invitation)  # answered through the question they share
    return [q for q in visible_questions(invitation, answers) if q.id not in copied and _lacking(q, answers)]


def submit_response(invitation: Invitation) -> Assessment:
    """Freeze the answers, score them and open the review."""
    response = _response_of(invitation)
    lock_draft(response)  # the answers read below are the last ones saved; later saves are refused
    missing = missing_required(invitation)
    if missing:
        raise StateError(f"未回答の必須の設問が{len(missing)}件あります。すべて回答してから送信してください。")
    if unconfirmed(invitation):
        raise StateError("前回の回答のまま確認していない設問があります。各項目で内容を確かめ、"
                         "「完了しました」を選んで保存してから送信してください。")
    answers = response.answer_map()
    resubmitted = response.state == "reopened"
    asked = list(response.reopened_questions or [])
    response.submit(answers, canonical_sha256(answers))
    if not resubmitted:
        invitation.mark_submitted()
    invitation.last_opened_at = utcnow()
    engagement = invitation.engagement
    engagement.move_to("submitted")
    if resubmitted:
        from .clarifications import mark_answered

        mark_answered(response, asked)
    assessment = score_response(invitation)
    audit.record(
        "response.resubmit" if resubmitted else "response.submit", "response", response.id,
        organisation_id=engagement.organisation_id, actor=f"contractor:invitation:{invitation.id}",
        data={"answers_sha256": response.answers_sha256, "score": assessment.score, "rating": assessment.rating},
    )
    return assessment


def score_response(invitation: Invitation) -> Assessment:
    engagement = invitation.engagement
    response = _response_of(invitation)
    thresholds = (engagement.organisation.settings or {}).get("thresholds")
    as_of = (response.submitted_at or utcnow()).date()
    result = scoring.score(
        invitation_questionnaires(invitation), response.answer_map(), engagement.profile(),
        thresholds=thresholds, as_of=as_of,
    )
    assessment = Assessment(
        engagement_id=engagement.id, response_id=response.id, score=result.score, rating=result.rating,
        inherent_risk=result.inherent_risk, result=result.to_json(), answers=response.answer_map(),
    )
    db.session.add(assessment)
    db.session.flush()
    return assessment


def previous_assessment(assessment: Assessment) -> Assessment | None:
    """The assessment of the submission before this one (the same engagement), or None."""
    return db.session.scalar(
        select(Assessment).where(Assessment.engagement_id == assessment.engagement_id, Assessment.id < assessment.id)
        .order_by(Assessment.id.desc()).limit(1)
    )


@dataclass(frozen=True)
class Change:
    question: qdef.Question
    before: str
    after: str


def changes_since_previous(invitation: Invitation, assessment: Assessment) -> list[Change] | None:
    """Answer by answer, what changed since the submission before this one; None when this is the first."""
    previous = previous_assessment(assessment)
    if previous is None or previous.answers is None or assessment.answers is None:
        return None
    before, after = previous.answers, assessment.answers

    def shown(question: qdef.Question, value: Any) -> str:
        atype = qdef.ANSWER_TYPES[question.type]
        return atype.display(question, value) if atype.is_answered(value) else "未回答"

    return [
        Change(question, shown(question, before.get(question.id)), shown(question, after.get(question.id)))
        for qn in invitation_questionnaires(invitation) for question in qn.questions()
        if before.get(question.id) != after.get(question.id)
    ]
