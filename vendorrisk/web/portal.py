"""Contractor portal: no account, an invitation link. Start page with a task list of sections,
one page per section (save and continue / save and come back later), check answers, submit.

A wrong, expired or revoked token always gets the same neutral 404. Opening a page writes
nothing; saving a section records the visit (`Invitation.last_opened_at`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for

from ..domain.questionnaire import ANSWER_TYPES, Question, Questionnaire, Section
from ..extensions import limiter
from ..models import Invitation, StateError
from ..services import answers, definitions, evidence, invitations
from .answer_forms import build_section_form, field_name
from .forms import EmptyForm
from .unit_of_work import keep_changes, refusable

bp = Blueprint("portal", __name__, url_prefix="/r/<token>")

SectionEntry = tuple[Questionnaire, Section, list[Question]]


@bp.url_value_preprocessor
def _load_invitation(endpoint: str | None, values: dict[str, Any] | None) -> None:
    token = (values or {}).pop("token", "") if values is not None else ""
    try:
        g.invitation = invitations.invitation_for_token(token)
    except invitations.NotFound:
        abort(404)
    g.token = token
    # English beside the Japanese for foreign providers: ?lang=en turns it on, ?lang=ja off.
    if request.args.get("lang") in ("en", "ja"):
        session["portal_bilingual"] = request.args["lang"] == "en"
    g.bilingual = bool(session.get("portal_bilingual"))


@bp.app_context_processor
def _portal_language() -> dict[str, Any]:
    return {"bilingual": bool(getattr(g, "bilingual", False))}


@bp.url_defaults
def _token_default(endpoint: str, values: dict[str, Any]) -> None:
    if "token" not in values and getattr(g, "token", None):
        values["token"] = g.token


def _rate_limit() -> str:
    return str(current_app.config["PORTAL_RATE_LIMIT"])


def _sections(invitation: Invitation) -> list[SectionEntry]:
    """Applicable sections (with their applicable questions), in order."""
    profile = invitation.engagement.profile()
    out = []
    for q in definitions.invitation_questionnaires(invitation):
        applicable = {x.id for x in q.applicable(profile)}
        for section in q.sections:
            questions = [x for x in section.questions if x.id in applicable]
            if questions:
                out.append((q, section, questions))
    return out


def _section_key(q: Questionnaire, section: Section) -> str:
    return f"{q.id}:{section.id}"


def _status(invitation: Invitation, key: str, questions: list[Question], given: dict[str, Any]) -> str:
    assert invitation.response is not None
    if key in (invitation.response.completed_sections or []):
        return "done"
    if any(ANSWER_TYPES[x.type].is_answered(given.get(x.id)) for x in questions):
        return "progress"
    return "todo"


@bp.route("/")
def start() -> Any:
    inv: Invitation = g.invitation
    if inv.response is not None and inv.response.state == "submitted":
        return render_template("portal/submitted.html", invitation=inv, engagement=inv.engagement)
    given = inv.response.answer_map() if inv.response else {}
    tasks = [
        {"questionnaire": q, "section": section, "count": len(questions),
         "status": _status(inv, _section_key(q, section), questions, given)}
        for q, section, questions in _sections(inv)
    ]
    return render_template("portal/start.html", invitation=inv, engagement=inv.engagement, tasks=tasks,
                           done=sum(1 for t in tasks if t["status"] == "done"))


@dataclass
class SectionPage:
    """One section page of the portal: where it sits among the sections and how to show it."""

    invitation: Invitation
    sections: list[SectionEntry]
    index: int

    @classmethod
    def find(cls, inv: Invitation, qid: str, section_id: str) -> SectionPage:
        sections = _sections(inv)
        for index, (q, section, _questions) in enumerate(sections):
            if q.id == qid and section.id == section_id:
                return cls(inv, sections, index)
        abort(404)

    @property
    def questionnaire(self) -> Questionnaire:
        return self.sections[self.index][0]

    @property
    def section(self) -> Section:
        return self.sections[self.index][1]

    @property
    def questions(self) -> list[Question]:
        return self.sections[self.index][2]

    @property
    def key(self) -> str:
        return _section_key(self.questionnaire, self.section)

    def answers(self) -> dict[str, Any]:
        assert self.invitation.response is not None
        return self.invitation.response.answer_map()

    def form(self, extra_rows: dict[str, int] | None = None) -> Any:
        assert self.invitation.response is not None
        done = self.key in (self.invitation.response.completed_sections or [])
        return build_section_form(self.questions, self.answers(), done=done, extra_rows=extra_rows,
                                  bilingual=g.bilingual)

    def render(self, form: Any, errors: bool = False) -> Any:
        return render_template(
            "portal/section.html", invitation=self.invitation, engagement=self.invitation.engagement,
            questionnaire=self.questionnaire, section=self.section, questions=self.questions, form=form,
            answers=self.answers(), field_name=field_name, index=self.index, total=len(self.sections),
            form_has_errors=errors,
        )

    def next_url(self) -> str:
        if self.index + 1 < len(self.sections):
            nq, nsec, _ = self.sections[self.index + 1]
            return url_for("portal.section", qid=nq.id, section_id=nsec.id)
        return url_for("portal.check")


@bp.route("/s/<qid>/<section_id>", methods=["GET", "POST"])
@limiter.limit(_rate_limit, methods=["POST"])
def section(qid: str, section_id: str) -> Any:
    inv: Invitation = g.invitation
    assert inv.response is not None
    if inv.response.state != "draft":
        flash("回答は提出済みです。内容の変更が必要な場合は、依頼元の担当者にご連絡ください。", "info")
        return redirect(url_for("portal.start"))
    page = SectionPage.find(inv, qid, section_id)
    form = page.form()
    if request.method == "GET":
        return page.render(form)
    action = form.action.data or "continue"
    if action.startswith("add:"):
        # 「行を追加」: re-render with one more empty row, keeping what was typed (nothing saved yet).
        return page.render(page.form(extra_rows={action[4:]: 1}))
    form.validate()
    with refusable(StateError) as refusal:
        has_errors = _save_section(page, form)
    if refusal:
        flash(refusal.message, "error")
        return redirect(url_for("portal.start"))
    if has_errors:
        keep_changes()  # the valid answers are saved; the page shows what failed and why
        return page.render(form, errors=True)
    if action == "later":
        flash("回答を保存しました。このページのリンク（メールのリンク）から、いつでも続きを入力できます。", "success")
        return redirect(url_for("portal.start"))
    return redirect(page.next_url())


def _store_upload(page: SectionPage, question: Question, field: Any) -> dict[str, Any] | None:
    """The answer for a file question: the stored evidence, or None (nothing chosen, or refused)."""
    upload = field.data
    if not upload or field.errors:
        return None
    assert page.invitation.response is not None
    try:
        return evidence.store_evidence(page.invitation.response, question.id, upload.filename or "file",
                                       upload.read(), current_app.config["UPLOAD_DIR"])
    except evidence.EvidenceRefused as exc:
        field.errors = [str(exc)]
        return None


def _save_section(page: SectionPage, form: Any) -> bool:
    """Save every valid answer of the section (an invalid one keeps its earlier saved answer);
    True when some field failed."""
    values: dict[str, Any] = {}
    for question in page.questions:
        field = form[field_name(question.id)]
        if question.type == "file":
            stored = _store_upload(page, question, field)
            if stored is not None:
                values[question.id] = stored
        elif not field.errors:
            values[question.id] = getattr(field, "answer_value", None)
    has_errors = any(form[field_name(x.id)].errors for x in page.questions)
    answers.save_answers(page.invitation, values, completed_section=page.key,
                         section_done=form.section_done.data == "yes" and not has_errors)
    return has_errors


@bp.route("/check")
def check() -> Any:
    inv: Invitation = g.invitation
    response = inv.response
    assert response is not None
    if response.state != "draft":
        return redirect(url_for("portal.start"))
    return _render_check(inv)


def _check_row(question: Question, value: Any) -> dict[str, Any]:
    answered = ANSWER_TYPES[question.type].is_answered(value)
    return {"question": question, "answered": answered,
            "display": ANSWER_TYPES[question.type].display(question, value) if answered else "未回答"}


def _check_groups(inv: Invitation) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every shown question with its answer, by section; and the required ones still missing."""
    assert inv.response is not None
    given = inv.response.answer_map()
    visible = answers.visible_ids(inv, given)
    groups, missing = [], []
    for q, sec, questions in _sections(inv):
        rows = [_check_row(question, given.get(question.id)) for question in questions if question.id in visible]
        url = url_for("portal.section", qid=q.id, section_id=sec.id)
        missing += [{"question": row["question"], "url": f"{url}#{field_name(row['question'].id)}-group"}
                    for row in rows if row["question"].required and not row["answered"]]
        groups.append({"questionnaire": q, "section": sec, "rows": rows})
    return groups, missing


def _render_check(inv: Invitation, *, show_errors: bool = False) -> Any:
    """The check-answers page: every shown question with its answer, and the required ones missing."""
    groups, missing = _check_groups(inv)
    return render_template("portal/check.html", invitation=inv, engagement=inv.engagement, groups=groups,
                           missing=missing, show_errors=show_errors, form=EmptyForm(),
                           glyph_warnings=_glyph_warnings(groups),
                           field_name=field_name, form_has_errors=show_errors and bool(missing))


def _glyph_warnings(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answers the annex font cannot print (rare 異体字, emoji): warn, never reject a real name."""
    from ..services.annexes import unprintable_characters

    out = []
    for group in groups:
        for row in group["rows"]:
            if row["answered"] and row["question"].type in ("person", "text", "group"):
                chars = unprintable_characters(row["display"])
                if chars:
                    out.append({"question": row["question"], "chars": chars})
    return out


@bp.route("/submit", methods=["POST"])
@limiter.limit(_rate_limit)
def submit() -> Any:
    inv: Invitation = g.invitation
    if not EmptyForm().validate_on_submit():
        abort(400)
    if answers.missing_required(inv):
        return _render_check(inv, show_errors=True), 400
    with refusable(StateError) as refusal:
        answers.submit_response(inv)
    if refusal:
        flash(refusal.message, "error")
    return redirect(url_for("portal.start"))


@bp.app_template_global()
def portal_section_url(q: Questionnaire, section: Section) -> str:
    return url_for("portal.section", qid=q.id, section_id=section.id)
