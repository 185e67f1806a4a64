"""SQLAlchemy 2 typed models.

Lifecycle rules live on the models (`Invitation.revoke()`, `Response.submit()` ...) and raise
`StateError` on an illegal move; multi-step workflows live in `vendorrisk.services`.
Times are stored in UTC (aware datetimes) and shown in Asia/Tokyo.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .domain.vocabulary import (
    APPROVAL_STAGES,
    APPROVAL_STEP_STATES,
    DECISION_LABELS,
    DECISIONS,
    ENGAGEMENT_STATE_LABELS,
    ENGAGEMENT_STATES,
    ENGAGEMENT_TRANSITIONS,
    EVALUATION_LABELS,
    EVALUATIONS,
    JST,
    KIND_LABELS,
    REMEDIATION_STATE_LABELS,
    REMEDIATION_STATES,
    ROLE_LABELS,
    ROLES,
)
from .extensions import Base, db

# Flask-SQLAlchemy builds `db.Model` at run time (on our typed `Base`); type checkers see `Base`.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


class StateError(Exception):
    """An illegal lifecycle move; the message is Japanese and safe to show."""


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK expression `column IN ('a','b')` from the shared vocabulary."""
    return f"{column} IN ({','.join(repr(v) for v in values)})"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no offset by itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC datetimes")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Organisation(Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Title of the party 甲 in contracts, e.g. 玉名市長; defaults to the organisation name.
    head_title: Mapped[str] = mapped_column(String(200), default="")
    policy_title: Mapped[str] = mapped_column(String(300))
    policy_text: Mapped[str] = mapped_column(Text)
    enacted_as_written: Mapped[str | None] = mapped_column(String(100))
    enacted_on: Mapped[dt.date | None] = mapped_column(Date)
    bodies: Mapped[list[str]] = mapped_column(JSON, default=list)
    clause_number: Mapped[str] = mapped_column(String(40))
    clause_title: Mapped[str] = mapped_column(String(200))
    # {"outsourcing": str | None, "external_services": str | None, "social_media": str | None}
    clause_paragraphs: Mapped[dict[str, str | None]] = mapped_column(JSON)
    obligations: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Per-organisation settings: {"thresholds": {...}, "articles_override": {...}}
    # MutableDict: assigning a key (settings["thresholds"] = ...) marks the row changed.
    settings: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(JSON), default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    officers: Mapped[list[Officer]] = relationship(
        back_populates="organisation", order_by="Officer.id", cascade="all, delete-orphan"
    )

    @property
    def self_reference(self) -> str:
        """How the organisation calls itself in questions: 本市, 本町, 本村, 本組合 ..."""
        for suffix in ("市", "町", "村", "区", "組合"):
            if self.name.endswith(suffix):
                return "本" + suffix
        return "本団体"

    def localize(self, text: str) -> str:
        """Question banks say 本市; a town or a 組合 reads its own word."""
        return text.replace("本市", self.self_reference) if text else text


OFFICER_ROLES = {
    "ciso": "最高情報セキュリティ責任者",
    "chief_security": "統括情報セキュリティ責任者",
    "security_officer": "情報セキュリティ責任者",
    "security_manager": "情報セキュリティ管理者",
    "system_manager": "情報システム管理者",
    "external_service_manager": "外部サービス管理者",
    "sns_owner": "ソーシャルメディアサービス責任者",
}


class Officer(Model):
    """A named municipal officer in the organisation's registry (titles vary per municipality)."""

    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    role_title: Mapped[str] = mapped_column(String(100))  # as the organisation writes it
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")

    __table_args__ = (Index("ix_officers_organisation_department", "organisation_id", "department"),)

    organisation: Mapped[Organisation] = relationship(back_populates="officers")


class User(UserMixin, Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of the id kept in the session cookie; raised at logout and password change so every
    # cookie issued before no longer logs anyone in (the cookie is client-side: this is the revocation).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    organisation: Mapped[Organisation] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: what the session cookie holds ("id:epoch")
        return f"{self.id}:{self.session_epoch or 0}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


class Vendor(Model):
    """A contractor or service provider (委託事業者), registered by one organisation."""

    __tablename__ = "vendors"
    __table_args__ = (UniqueConstraint("organisation_id", "corporate_number", name="org_corporate_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    corporate_number: Mapped[str | None] = mapped_column(String(13))  # 法人番号, check digit validated
    address: Mapped[str] = mapped_column(String(300), default="")
    representative: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when archived: hidden from the default lists, kept with its engagements, restorable.
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()


class Engagement(Model):
    """A 委託案件: one contract or service use, classified, with its municipal officers."""

    __tablename__ = "engagements"
    __table_args__ = (
        UniqueConstraint("organisation_id", "reference", name="org_reference"),
        CheckConstraint("confidentiality BETWEEN 1 AND 3", name="confidentiality"),
        CheckConstraint("integrity BETWEEN 1 AND 2", name="integrity"),
        CheckConstraint("availability BETWEEN 1 AND 2", name="availability"),
        CheckConstraint(_one_of("state", ENGAGEMENT_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40))  # 案件番号, unique within the organisation
    title: Mapped[str] = mapped_column(String(200), index=True)
    kinds: Mapped[list[str]] = mapped_column(JSON)  # subset of KINDS
    confidentiality: Mapped[int] = mapped_column(Integer, default=2, index=True)
    integrity: Mapped[int] = mapped_column(Integer, default=1)
    availability: Mapped[int] = mapped_column(Integer, default=1)
    personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    my_number: Mapped[bool] = mapped_column(Boolean, default=False)
    network_segment: Mapped[str | None] = mapped_column(String(30))
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    review_on: Mapped[dt.date | None] = mapped_column(Date)  # 次回の再評価日 (a year after approval if unset)
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What the questionnaire depends on changed after an invitation was sent (with a recorded reason):
    # the invitation was revoked and a new one is needed. Cleared by the next invitation.
    needs_new_invitation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    organisation: Mapped[Organisation] = relationship()
    vendor: Mapped[Vendor] = relationship()
    officer_links: Mapped[list[EngagementOfficer]] = relationship(
        cascade="all, delete-orphan", order_by="EngagementOfficer.id"
    )
    invitations: Mapped[list[Invitation]] = relationship(
        back_populates="engagement", order_by="Invitation.id"
    )

    @property
    def officers(self) -> list[Officer]:
        return [link.officer for link in self.officer_links]

    @property
    def kind_labels(self) -> list[str]:
        return [KIND_LABELS[k] for k in self.kinds]

    @property
    def state_label(self) -> str:
        return ENGAGEMENT_STATE_LABELS.get(self.state, self.state)

    def can_move_to(self, state: str) -> bool:
        return state in ENGAGEMENT_TRANSITIONS.get(self.state, frozenset())

    def move_to(self, state: str) -> None:
        """The one way an engagement changes state (vocabulary.ENGAGEMENT_TRANSITIONS)."""
        if not self.can_move_to(state):
            raise StateError(
                f"案件の状態を「{self.state_label}」から「{ENGAGEMENT_STATE_LABELS.get(state, state)}」"
                "に変えることはできません。画面を再読み込みして、案件の状態を確認してください。"
            )
        self.state = state

    def profile(self) -> dict[str, Any]:
        """The engagement profile that questionnaires' `applies_when` and scoring read."""
        return {
            "kinds": list(self.kinds),
            "confidentiality": self.confidentiality,
            "integrity": self.integrity,
            "availability": self.availability,
            "personal_data": self.personal_data,
            "my_number": self.my_number,
            "network_segment": self.network_segment,
        }

    def current_invitation(self) -> Invitation | None:
        live = [i for i in self.invitations if i.state != "revoked"]
        return live[-1] if live else None


class EngagementOfficer(Model):
    __tablename__ = "engagement_officers"
    __table_args__ = (UniqueConstraint("engagement_id", "officer_id", name="engagement_officer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)

    officer: Mapped[Officer] = relationship()


class QuestionnaireVersion(Model):
    """A frozen questionnaire definition; its content hash is its version."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire_id", "version", name="questionnaire_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)  # output of domain.questionnaire.freeze
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class InvitationQuestionnaire(Model):
    __tablename__ = "invitation_questionnaires"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id"), index=True)
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)

    questionnaire_version: Mapped[QuestionnaireVersion] = relationship()


class Invitation(Model):
    """A link sent to a contractor. Only the SHA-256 of the token is stored."""

    __tablename__ = "invitations"
    __table_args__ = (CheckConstraint("state IN ('open','submitted','revoked')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    recipient_name: Mapped[str] = mapped_column(String(100), default="")
    recipient_email: Mapped[str] = mapped_column(String(254))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    # The answer deadline (a 開庁日, JST); the link stays usable until the end of that day (expires_at).
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The municipal contact the portal and the mails name (copied when the invitation is sent).
    contact_department: Mapped[str] = mapped_column(String(200), default="", server_default="")
    contact_name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    # A colleague the contractor handed the link to (a second named contact, audited).
    delegate_name: Mapped[str | None] = mapped_column(String(100))
    delegate_email: Mapped[str | None] = mapped_column(String(254))
    # When the "link expires soon" mail went out (once per invitation).

    engagement: Mapped[Engagement] = relationship(back_populates="invitations")
    questionnaire_links: Mapped[list[InvitationQuestionnaire]] = relationship(
        cascade="all, delete-orphan", order_by="InvitationQuestionnaire.position"
    )
    response: Mapped[Response | None] = relationship(back_populates="invitation", uselist=False)

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    @property
    def due_date(self) -> dt.date:
        """The deadline day (JST): the stored one, else the day the link expires in (older rows)."""
        if self.due_on is not None:
            return self.due_on
        return self.usable_until

    @property
    def usable_until(self) -> dt.date:
        """The last day (JST) on which the link opens (later than the deadline once a loop renews it)."""
        return (self.expires_at - dt.timedelta(microseconds=1)).astimezone(JST).date()

    def is_usable(self, now: dt.datetime | None = None) -> bool:
        """Whether the link still opens the portal (open or submitted for reading, not expired)."""
        now = now or utcnow()
        return self.state != "revoked" and self.expires_at > now

    def revoke(self) -> None:
        if self.state == "revoked":
            raise StateError("この回答依頼はすでに取り消されています。")
        if self.state == "submitted":
            raise StateError("回答が提出済みのため、この回答依頼は取り消せません。")
        self.state = "revoked"
        self.revoked_at = utcnow()

    def mark_submitted(self) -> None:
        if self.state != "open":
            raise StateError("この回答依頼はすでに提出済みか、取り消されています。")
        self.state = "submitted"


class Response(Model):
    """The contractor's answers to one invitation: a draft until submitted, then frozen."""

    __tablename__ = "responses"
    __table_args__ = (CheckConstraint("state IN ('draft','submitted','reopened')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id"), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    # Section ids the contractor marked as finished (「このセクションを完了しました」).
    completed_sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # sha256 of the canonical JSON of the frozen answers; printed on the annex.
    answers_sha256: Mapped[str | None] = mapped_column(String(64))
    frozen_answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Answers pre-filled from the vendor's last approved assessment of the same questionnaire:
    # {question id: {"from": earlier response id, "digest": fingerprint, "confirmed": bool}}.
    carried_over: Mapped[dict[str, Any] | None] = mapped_column(MutableDict.as_mutable(JSON))
    # While the reviewer's questions are open (state 'reopened'): the only questions that may change.
    reopened_questions: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    invitation: Mapped[Invitation] = relationship(back_populates="response")
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", order_by="Answer.id"
    )

    def answer_map(self) -> dict[str, Any]:
        if self.state == "submitted" and self.frozen_answers is not None:
            return dict(self.frozen_answers)
        return {a.question_id: a.value for a in self.answers}

    def ensure_editable(self) -> None:
        if self.state not in ("draft", "reopened"):
            raise StateError("この回答は提出済みのため変更できません。")

    def submit(self, answers: dict[str, Any], answers_sha256: str) -> None:
        """Freeze the answers (draft or reopened → submitted)."""
        self.ensure_editable()
        self.frozen_answers = answers
        self.answers_sha256 = answers_sha256
        self.state = "submitted"
        self.submitted_at = utcnow()
        self.reopened_questions = []

    def reopen(self, question_ids: list[str]) -> None:
        """Open only these questions again (the reviewer asked about them); the others stay as submitted."""
        if self.state != "submitted":
            raise StateError("提出済みの回答だけ、確認のために再度開くことができます。")
        if not question_ids:
            raise StateError("確認する設問を選んでください。")
        self.state = "reopened"
        self.reopened_questions = list(question_ids)


class Answer(Model):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("response_id", "question_id", name="response_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    question_id: Mapped[str] = mapped_column(String(120))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    # Raised by one on every write: a save made from a page rendered at an older version is refused
    # for that question (a stale tab never overwrites a newer answer). 0 = never answered.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    response: Mapped[Response] = relationship(back_populates="answers")


class Evidence(Model):
    """An uploaded evidence file, stored under a random name outside static."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    question_id: Mapped[str] = mapped_column(String(120))
    filename: Mapped[str] = mapped_column(String(255))  # as uploaded (untrusted, shown escaped)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Assessment(Model):
    """The scored result of one submission of a response, and the reviewer's decision on it.

    A response answered again after the reviewer's questions is scored again: a new assessment of the
    same response, with the answers of that submission kept (`answers`) so the next one shows what changed."""

    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint("rating IN ('pass','conditional','fail')", name="rating"),
        CheckConstraint(f"decision IS NULL OR {_one_of('decision', DECISIONS)}", name="decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    score: Mapped[float] = mapped_column(index=True)
    rating: Mapped[str] = mapped_column(String(20), index=True)
    inherent_risk: Mapped[str] = mapped_column(String(20), index=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)  # ScoreResult.to_json()
    # The answers as submitted this time (None for assessments made before resubmission existed).
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    decision: Mapped[str | None] = mapped_column(String(20), index=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    response: Mapped[Response] = relationship()
    decided_by: Mapped[User | None] = relationship()
    remediations: Mapped[list[Remediation]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="Remediation.position"
    )
    overrides: Mapped[list[EvaluationOverride]] = relationship(
        cascade="all, delete-orphan", order_by="EvaluationOverride.id"
    )
    approval_steps: Mapped[list[ApprovalStep]] = relationship(
        cascade="all, delete-orphan", order_by="(ApprovalStep.round, ApprovalStep.position)"
    )

    @property
    def decision_label(self) -> str:
        return DECISION_LABELS.get(self.decision or "", "")

    def decide(self, decision: str, user: User, note: str = "") -> None:
        if self.decision is not None:
            raise StateError("この審査はすでに判定済みです。")
        if decision not in DECISIONS:
            raise StateError("判定を選んでください。")
        if not note.strip():
            raise StateError("判定の理由を入力してください。")
        if decision in ("approved", "conditional") and self.rating == "fail":
            raise StateError("評価が「不適合」のため承認できません。差戻し又は不承認としてください。")
        self.decision = decision
        self.decision_note = note
        self.decided_by_id = user.id
        self.decided_at = utcnow()

    def undecide(self) -> None:
        """決裁で差し戻された起案: the reviewer decides again (the audit log keeps the earlier one)."""
        self.decision = None
        self.decided_by_id = None
        self.decided_at = None


class Remediation(Model):
    """A 是正事項 of a 条件付承認: an obligation with a deadline (開庁日), tracked until closed."""

    __tablename__ = "remediations"
    __table_args__ = (CheckConstraint(_one_of("state", REMEDIATION_STATES), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    question_id: Mapped[str] = mapped_column(String(120), default="")
    title: Mapped[str] = mapped_column(String(500), default="")  # the question it comes from, as shown
    obligation: Mapped[str] = mapped_column(Text)  # what the contractor must do, written as an obligation
    open_days: Mapped[int] = mapped_column(Integer)  # the deadline as counted: 開庁日 after the decision
    deadline: Mapped[dt.date] = mapped_column(Date, index=True)
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    report: Mapped[str] = mapped_column(Text, default="")  # the contractor's 是正報告
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str] = mapped_column(Text, default="")  # why closed, or what is still missing
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    assessment: Mapped[Assessment] = relationship(back_populates="remediations")
    closed_by: Mapped[User | None] = relationship()

    @property
    def state_label(self) -> str:
        return REMEDIATION_STATE_LABELS.get(self.state, self.state)

    def record_report(self, report: str) -> None:
        if self.state == "closed":
            raise StateError("この是正事項は完了しています。")
        if not report.strip():
            raise StateError("是正の内容を入力してください。")
        self.report = report
        self.state = "reported"
        self.reported_at = utcnow()

    def review(self, accepted: bool, user: User, note: str) -> None:
        if self.state != "reported":
            raise StateError("是正報告が届いている是正事項だけ確認できます。")
        if not accepted and not note.strip():
            raise StateError("まだ足りない点を入力してください。")
        self.review_note = note
        if accepted:
            self.state = "closed"
            self.closed_by_id = user.id
            self.closed_at = utcnow()
        else:
            self.state = "open"


class EvaluationOverride(Model):
    """The reviewer's own evaluation of one question, kept beside the automatic one, with the reason."""

    __tablename__ = "evaluation_overrides"
    __table_args__ = (
        UniqueConstraint("assessment_id", "question_id", name="assessment_question"),
        CheckConstraint(_one_of("evaluation", EVALUATIONS), name="evaluation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    question_id: Mapped[str] = mapped_column(String(120))
    automatic: Mapped[str | None] = mapped_column(String(20))  # the automatic evaluation when overridden
    evaluation: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()

    @property
    def evaluation_label(self) -> str:
        return EVALUATION_LABELS.get(self.evaluation, "")


class ApprovalStep(Model):
    """One step of the 決裁 after the reviewer's 起案 (審査, 承認), by a role or a named person."""

    __tablename__ = "approval_steps"
    __table_args__ = (
        CheckConstraint(_one_of("stage", APPROVAL_STAGES), name="stage"),
        CheckConstraint(_one_of("state", APPROVAL_STEP_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)  # a returned 起案 drafted again is a new round
    position: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(20))
    role: Mapped[str | None] = mapped_column(String(20))  # who may take it: a role ...
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # ... or a named person
    state: Mapped[str] = mapped_column(String(20), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    def may_be_taken_by(self, user: User) -> bool:
        if self.user_id is not None:
            return user.id == self.user_id
        return user.role == self.role or user.role == "admin"


class Clarification(Model):
    """One question the reviewer asked about: a thread between the reviewer and the contractor."""

    __tablename__ = "clarifications"
    __table_args__ = (
        UniqueConstraint("response_id", "question_id", name="clarification_question"),
        CheckConstraint("state IN ('open','answered')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    question_id: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(20), default="open")
    due_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    messages: Mapped[list[ClarificationMessage]] = relationship(
        cascade="all, delete-orphan", order_by="ClarificationMessage.id"
    )


class ClarificationMessage(Model):
    __tablename__ = "clarification_messages"
    __table_args__ = (CheckConstraint("author IN ('reviewer','contractor')", name="author"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clarification_id: Mapped[int] = mapped_column(ForeignKey("clarifications.id"), index=True)
    author: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(200))  # as shown: the reviewer's name, or the company
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class InternalCheck(Model):
    """The municipality's answer to one of its own questions (``party: municipality``) for an
    engagement: the 所管課's internal checklist, never shown on the contractor's link."""

    __tablename__ = "internal_checks"
    __table_args__ = (UniqueConstraint("engagement_id", "question_id", name="engagement_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    question_id: Mapped[str] = mapped_column(String(120))
    # What was asked and of which bank version, as it read when answered (banks change).
    question_text: Mapped[str] = mapped_column(Text)
    questionnaire_version: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    answered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    answered_by: Mapped[User] = relationship()


class Annex(Model):
    """An issued 情報セキュリティ特記事項: immutable bytes with their sha256 and source snapshot."""

    __tablename__ = "annexes"
    __table_args__ = (UniqueConstraint("engagement_id", "version", name="engagement_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[str] = mapped_column(String(120), unique=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    snapshot_sha256: Mapped[str] = mapped_column(String(64))  # sha256 of the snapshot (inputs)
    answers_sha256: Mapped[str] = mapped_column(String(64))
    # Large columns load only when used (download, compare), not when versions are listed.
    text: Mapped[str] = mapped_column(Text, deferred=True)  # article text, for comparing versions
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Recorded by legal once the version is signed: the date on it and the uploaded scan.
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    signed_scan: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    signed_scan_name: Mapped[str | None] = mapped_column(String(200))
    signed_scan_mimetype: Mapped[str | None] = mapped_column(String(100))
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    engagement: Mapped[Engagement] = relationship()


class AuditEvent(Model):
    """Append-only record of every state change and document download, one keyed chain per organisation.

    Each event carries its chain (the organisation's id, 0 for events without one), a gapless sequence
    number in that chain, the previous event's MAC and its own HMAC-SHA256 under a key kept outside the
    database (see `vendorrisk.services.audit`). Rows written before the chain was keyed keep their
    unkeyed SHA-256 (`scheme` 'sha256') and are sealed by the first keyed event of their chain."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("chain", "seq", name="audit_chain_seq"),
        CheckConstraint("scheme IN ('sha256','hmac-sha256')", name="scheme"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    chain: Mapped[int] = mapped_column(Integer)  # organisation_id, or 0 for events without an organisation
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ... within the chain; a gap is a deleted event
    scheme: Mapped[str] = mapped_column(String(16), default="hmac-sha256")  # 'sha256' = legacy, unkeyed
    actor: Mapped[str] = mapped_column(String(200))  # "user:3", "contractor:invitation:7", "cli"
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))  # the previous event's `hash` in the same chain
    hash: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC-SHA256 (legacy rows: SHA-256)


class AuditChainHead(Model):
    """The newest event of one audit chain; appends lock this row, so one chain never forks."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)  # sequence number of the newest event (0 = none yet)
    last_hash: Mapped[str] = mapped_column(String(64))  # what the next event's prev_hash must be


class PolicyEdition(Model):
    """One reading of an organisation's 基本方針: a draft an admin reviews, then the edition in force.

    ``fields`` holds what the application uses (as accepted or corrected by the admin); ``parsed`` what
    the parser read, so a correction can be shown and audited. States: draft → current → superseded,
    or draft → discarded. Invitations link to the edition in force when they were sent.
    """

    __tablename__ = "policy_editions"
    __table_args__ = (
        CheckConstraint("state IN ('draft','current','superseded','discarded')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The organisation the edition is (or, once accepted, will be) of; None while a draft creates one.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    # The admin's organisation that uploaded it (who may review it).
    owner_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    edition: Mapped[int | None] = mapped_column(Integer)  # 1, 2, ... per organisation once accepted
    source_filename: Mapped[str] = mapped_column(String(255), default="")
    source_format: Mapped[str] = mapped_column(String(10), default="text")
    source_sha256: Mapped[str] = mapped_column(String(64))
    source_text: Mapped[str] = mapped_column(Text, deferred=True)
    parsed: Mapped[dict[str, Any]] = mapped_column(JSON)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    corrections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    corrected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    corrected_by: Mapped[User | None] = relationship(foreign_keys=[corrected_by_id])


class InvitationPolicyEdition(Model):
    """The policy edition in force when an invitation was sent (what its questionnaire cites)."""

    __tablename__ = "invitation_policy_editions"

    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id"), primary_key=True)
    policy_edition_id: Mapped[int] = mapped_column(ForeignKey("policy_editions.id"), index=True)

    invitation: Mapped[Invitation] = relationship()
    edition: Mapped[PolicyEdition] = relationship()


JOB_STATES = ("queued", "running", "retrying", "done", "failed")


class JobRun(Model):
    """One background job (mail, bulk annex issue): its identity, state and last error.

    The unique `key` makes asking twice for the same work one job; a job marked done never runs again."""

    __tablename__ = "job_runs"
    __table_args__ = (CheckConstraint("state IN ('queued','running','retrying','done','failed')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # idempotency key, e.g. "annex.issue:12:2027-04-01"
    name: Mapped[str] = mapped_column(String(60))  # a name registered in services.jobs.JOBS
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class MailLog(Model):
    """Every mail the reminders send (contractor reminders, staff notices): one row per mail.

    The unique `dedupe_key` (e.g. "reminder.before:12:2026-12-15") is claimed in the transaction that
    queues the mail, so a second run, or two runs at once, never sends the same mail again.
    `sent_at` is set once the mail has been handed to the outbox/SMTP."""

    __tablename__ = "mail_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    engagement_id: Mapped[int | None] = mapped_column(ForeignKey("engagements.id"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300), default="")
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ApiKey(Model):
    """A per-organisation key for the JSON API. Only the SHA-256 of the key is stored; the prefix
    (shown in lists) identifies it without revealing it."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("scope IN ('read','write')", name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))  # what the key is for (e.g. 文書管理システム連携)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(10), default="read")  # write implies read
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return self.active and (scope == "read" or self.scope == "write")
