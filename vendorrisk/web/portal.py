"""Contractor portal: no account, an invitation link. Start page with a task list of sections,
one page per section (save and continue / save and come back later), check answers, submit.

A wrong, expired or revoked token always gets the same neutral 404.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

import filetype
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.datastructures import FileStorage

from ..domain.questionnaire import ANSWER_TYPES, Question, Questionnaire, Section
from ..extensions import db, limiter
from ..models import Evidence, Invitation, StateError
from ..services import audit, workflow
from .answer_forms import build_section_form, field_name
from .forms import EmptyForm

bp = Blueprint("portal", __name__, url_prefix="/r/<token>")

ALLOWED_EVIDENCE = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/zip": ".zip",
}


@bp.url_value_preprocessor
def _load_invitation(endpoint: str | None, values: dict[str, Any] | None) -> None:
    token = (values or {}).pop("token", "") if values is not None else ""
    try:
        g.invitation = workflow.invitation_for_token(token)
    except workflow.NotFound:
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


def _sections(invitation: Invitation) -> list[tuple[Questionnaire, Section, list[Question]]]:
    """Applicable sections (with their applicable questions), in order."""
    profile = invitation.engagement.profile()
    out = []
    for q in workflow.invitation_questionnaires(invitation):
        applicable = {x.id for x in q.applicable(profile)}
        for section in q.sections:
            questions = [x for x in section.questions if x.id in applicable]
            if questions:
                out.append((q, section, questions))
    return out


def _section_key(q: Questionnaire, section: Section) -> str:
    return f"{q.id}:{section.id}"


def _status(invitation: Invitation, key: str, questions: list[Question], answers: dict[str, Any]) -> str:
    assert invitation.response is not None
    if key in (invitation.response.completed_sections or []):
        return "done"
    if any(ANSWER_TYPES[x.type].is_answered(answers.get(x.id)) for x in questions):
        return "progress"
    return "todo"


@bp.route("/")
def start() -> Any:
    inv: Invitation = g.invitation
    if inv.response is not None and inv.response.state == "submitted":
        return render_template("portal/submitted.html", invitation=inv, engagement=inv.engagement)
    answers = inv.response.answer_map() if inv.response else {}
    tasks = []
    for q, section, questions in _sections(inv):
        key = _section_key(q, section)
        tasks.append({"questionnaire": q, "section": section, "status": _status(inv, key, questions, answers),
                      "count": len(questions)})
    inv.last_opened_at = workflow.utcnow()
    db.session.commit()
    return render_template("portal/start.html", invitation=inv, engagement=inv.engagement, tasks=tasks,
                           done=sum(1 for t in tasks if t["status"] == "done"))


def _find_section(inv: Invitation, qid: str, section_id: str) -> tuple[int, list[tuple[Questionnaire, Section, list[Question]]]]:
    sections = _sections(inv)
    for index, (q, section, _questions) in enumerate(sections):
        if q.id == qid and section.id == section_id:
            return index, sections
    abort(404)


@bp.route("/s/<qid>/<section_id>", methods=["GET", "POST"])
@limiter.limit(_rate_limit, methods=["POST"])
def section(qid: str, section_id: str) -> Any:
    inv: Invitation = g.invitation
    response = inv.response
    assert response is not None
    if response.state != "draft":
        flash("回答は提出済みです。内容の変更が必要な場合は、依頼元の担当者にご連絡ください。", "info")
        return redirect(url_for("portal.start"))
    index, sections = _find_section(inv, qid, section_id)
    q, sec, questions = sections[index]
    key = _section_key(q, sec)
    answers = response.answer_map()
    done = key in (response.completed_sections or [])
    if request.method == "GET":
        form = build_section_form(questions, answers, done=done, bilingual=g.bilingual)
        return _render_section(inv, q, sec, questions, form, answers, index, len(sections))

    form = build_section_form(questions, answers, done=done, formdata=request.form, bilingual=g.bilingual)
    action = form.action.data or "continue"
    if action.startswith("add:"):
        # 「行を追加」: re-render with one more empty row, keeping what was typed (nothing saved yet).
        extra = {action[4:]: 1}
        form = build_section_form(questions, answers, done=done, extra_rows=extra, formdata=request.form, bilingual=g.bilingual)
        return _render_section(inv, q, sec, questions, form, answers, index, len(sections))
    form.validate()
    values: dict[str, Any] = {}
    for question in questions:
        f = form[field_name(question.id)]
        if question.type == "file":
            upload = request.files.get(f.name)
            if upload is not None and upload.filename:
                try:
                    values[question.id] = _store_evidence(inv, question, upload)
                except ValueError as exc:
                    f.errors = [str(exc)]
            continue
        if f.errors:
            continue  # keep the earlier saved answer; the form shows what was typed and why it failed
        values[question.id] = getattr(f, "answer_value", None)
    section_done = form.section_done.data == "yes"
    has_errors = any(form[field_name(x.id)].errors for x in questions)
    try:
        workflow.save_answers(inv, values, completed_section=key, section_done=section_done and not has_errors)
        db.session.commit()
    except StateError as exc:
        db.session.rollback()
        _discard_new_uploads()
        flash(str(exc), "error")
        return redirect(url_for("portal.start"))
    except Exception:
        db.session.rollback()
        _discard_new_uploads()
        raise
    if has_errors:
        return _render_section(inv, q, sec, questions, form, response.answer_map(), index, len(sections), errors=True)
    if action == "later":
        flash("回答を保存しました。このページのリンク（メールのリンク）から、いつでも続きを入力できます。", "success")
        return redirect(url_for("portal.start"))
    if index + 1 < len(sections):
        nq, nsec, _ = sections[index + 1]
        return redirect(url_for("portal.section", qid=nq.id, section_id=nsec.id))
    return redirect(url_for("portal.check"))


def _render_section(inv: Invitation, q: Questionnaire, sec: Section, questions: list[Question], form: Any,
                    answers: dict[str, Any], index: int, total: int, errors: bool = False) -> Any:
    return render_template(
        "portal/section.html", invitation=inv, engagement=inv.engagement, questionnaire=q, section=sec,
        questions=questions, form=form, answers=answers, field_name=field_name, index=index, total=total,
        form_has_errors=errors,
    )


def _store_evidence(inv: Invitation, question: Question, upload: FileStorage) -> dict[str, Any]:
    limit = int(current_app.config["EVIDENCE_MAX_BYTES"])
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"ファイルが大きすぎます。{limit // (1024 * 1024)}MB以下のファイルを選んでください。")
    if not data:
        raise ValueError("選んだファイルが空です。内容のあるファイルを選んでください。")
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime not in ALLOWED_EVIDENCE:
        raise ValueError("添付できるのはPDF・画像（PNG・JPEG）・Word・Excel・ZIPのファイルです。")
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    stored = secrets.token_hex(16) + ALLOWED_EVIDENCE[mime]
    (folder / stored).write_bytes(data)
    g.setdefault("new_uploads", []).append(folder / stored)
    assert inv.response is not None
    filename = Path(upload.filename or "file").name[:200]
    evidence = Evidence(response_id=inv.response.id, question_id=question.id, filename=filename, stored_name=stored,
                        content_type=mime, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    db.session.add(evidence)
    db.session.flush()
    return {"evidence_id": evidence.id, "filename": filename}


def _discard_new_uploads() -> None:
    """Files written during a request whose database rows were rolled back leave no orphans."""
    for path in g.pop("new_uploads", []):
        path.unlink(missing_ok=True)


@bp.route("/check")
def check() -> Any:
    inv: Invitation = g.invitation
    response = inv.response
    assert response is not None
    if response.state != "draft":
        return redirect(url_for("portal.start"))
    return _render_check(inv)


def _render_check(inv: Invitation, *, show_errors: bool = False) -> Any:
    """The check-answers page: every shown question with its answer, and the required ones missing."""
    assert inv.response is not None
    answers = inv.response.answer_map()
    visible = workflow.visible_ids(inv, answers)
    groups, missing = [], []
    for q, sec, questions in _sections(inv):
        rows = []
        for question in questions:
            if question.id not in visible:
                continue
            value = answers.get(question.id)
            answered = ANSWER_TYPES[question.type].is_answered(value)
            rows.append({"question": question, "answered": answered,
                         "display": ANSWER_TYPES[question.type].display(question, value) if answered else "未回答"})
            if question.required and not answered:
                missing.append({"question": question, "url": url_for("portal.section", qid=q.id, section_id=sec.id)
                                + f"#{field_name(question.id)}-group"})
        groups.append({"questionnaire": q, "section": sec, "rows": rows})
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
    if workflow.missing_required(inv):
        return _render_check(inv, show_errors=True), 400
    try:
        workflow.submit_response(inv)
        db.session.commit()
    except StateError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("portal.start"))
    return redirect(url_for("portal.start"))


@bp.app_template_global()
def portal_section_url(q: Questionnaire, section: Section) -> str:
    return url_for("portal.section", qid=q.id, section_id=section.id)


__all__ = ["bp", "audit"]
