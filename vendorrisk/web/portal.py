"""Contractor portal: no account, an invitation link. Start page with a task list of sections,
one page per section (save and continue / save and come back later), check answers, submit.

A wrong or revoked token gets the same neutral 404; a right token past its date gets a plain page
saying the link expired and whom to ask (no answer, no title). Opening a page writes nothing;
saving a section records the visit (`Invitation.last_opened_at`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError

from ..domain.questionnaire import ANSWER_TYPES, Question, Questionnaire, Section, evidence_key, note_key
from ..domain.sheet_import import SheetRefused
from ..domain.vocabulary import JST
from ..domain.wareki import date_time, format_time
from ..extensions import csrf, limiter
from ..models import Invitation, Response, StateError, utcnow
from ..services import answer_sheets, answers, definitions, evidence, invitations, policy_import, receipts
from ..services.answers import Base as AnswerBase
from .answer_forms import build_section_form, evidence_field_name, field_name, note_field_name
from .downloads import content_disposition
from .forms import AnswerSheetForm, EmptyForm, HandoverForm
from .unit_of_work import keep_changes, refusable

bp = Blueprint("portal", __name__, url_prefix="/r/<token>")

SectionEntry = tuple[Questionnaire, Section, list[Question]]
bp.add_app_template_global(note_field_name)
bp.add_app_template_global(evidence_field_name)
BASE_PREFIX = "_v_"  # hidden field per question: the version (and fingerprint) the page was rendered with


@bp.url_value_preprocessor
def _load_invitation(endpoint: str | None, values: dict[str, Any] | None) -> None:
    token = (values or {}).pop("token", "") if values is not None else ""
    try:
        g.invitation = invitations.invitation_for_token(token)
    except invitations.Expired as expired:
        abort(make_response(render_template(
            "portal/expired.html", invitation=expired.invitation,
            organisation=expired.invitation.engagement.organisation,
            contact=invitations.contact_of(expired.invitation)), 410))
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
    """Applicable sections (with their applicable questions), in order. Cached per process by the
    definitions' content hashes and the engagement profile (both decide it entirely)."""
    profile = invitation.engagement.profile()
    questionnaires = definitions.invitation_questionnaires(invitation)
    key = definitions.content_key(questionnaires, profile)
    cached = _SECTIONS.get(key)
    if cached is not None:
        return cached
    out = []
    copied = answers.copied_ids(invitation)  # entered once, on the first questionnaire that asks it
    for q in questionnaires:
        applicable = {x.id for x in q.applicable(profile)} - copied
        for section in q.sections:
            questions = [x for x in section.questions if x.id in applicable]
            if questions:
                out.append((q, section, questions))
    if len(_SECTIONS) >= 256:
        _SECTIONS.clear()
    _SECTIONS[key] = out
    return out


_SECTIONS: dict[definitions.ContentKey, list[SectionEntry]] = {}


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
    if inv.response is not None and inv.response.state == "reopened":
        return redirect(url_for("portal.clarification"))  # the reviewer asked about some answers
    if inv.engagement.state == "conditional":
        return redirect(url_for("portal.remediation"))  # approved on conditions: the 是正事項 and 是正報告
    if inv.response is not None and inv.response.state == "submitted":
        return render_template("portal/submitted.html", invitation=inv, engagement=inv.engagement,
                               number=receipts.receipt_number(inv.response), contact=invitations.contact_of(inv))
    given = inv.response.answer_map() if inv.response else {}
    tasks = [
        {"questionnaire": q, "section": section, "count": len(questions),
         "status": _status(inv, _section_key(q, section), questions, given)}
        for q, section, questions in _sections(inv)
    ]
    return render_template("portal/start.html", invitation=inv, engagement=inv.engagement, tasks=tasks,
                           done=sum(1 for t in tasks if t["status"] == "done"),
                           citation=policy_import.citation_for_invitation(inv), **_brief(inv))


EXPIRY_WARNING = dt.timedelta(days=3)


def _brief(inv: Invitation) -> dict[str, Any]:
    """What every start page names: the municipal contact, the time needed, the documents, and
    whether the link expires soon."""
    return {
        "contact": invitations.contact_of(inv),
        "preparation": invitations.preparation_for(inv.engagement, definitions.invitation_questionnaires(inv)),
        "expires_soon": inv.expires_at - utcnow() < EXPIRY_WARNING,
    }


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

    def stored(self) -> dict[str, AnswerBase]:
        """This section's answers as stored now (value fingerprint and version): only these are read."""
        assert self.invitation.response is not None
        return answers.stored_bases(self.invitation.response, [q.id for q in self.questions])

    def answers(self, only: set[str] | None = None) -> dict[str, Any]:
        assert self.invitation.response is not None
        return stored_answers(self.invitation.response,
                              [q for q in self.questions if only is None or q.id in only])

    def form(self, extra_rows: dict[str, int] | None = None, only: set[str] | None = None) -> Any:
        """The section form, filled from the stored answers (of the `only` questions, for an autosave)."""
        assert self.invitation.response is not None
        done = self.key in (self.invitation.response.completed_sections or [])
        return build_section_form(self.questions, self.answers(only), done=done, extra_rows=extra_rows,
                                  bilingual=g.bilingual, cache_key=(self.questionnaire.version, self.section.id))

    def autosave_form(self, only: set[str]) -> Any:
        """The form of an autosave: the changed questions' fields only (and the 「上記と同じ」 pair,
        whose tick decides what is read), filled from the request; no stored answer is read."""
        pairs = self.same_as_pairs()
        keep = only | set(pairs) | {manager.id for manager in pairs.values()}
        return build_section_form([q for q in self.questions if q.id in keep], {}, done=False,
                                  bilingual=g.bilingual, cache_key=(self.questionnaire.version, self.section.id),
                                  csrf=False)  # the autosave view checks the token itself

    def render(self, form: Any, errors: bool = False, bases: dict[str, AnswerBase] | None = None,
               notice: str | None = None) -> Any:
        bases = {**self.stored(), **(bases or {})}
        return render_template(
            "portal/section.html", invitation=self.invitation, engagement=self.invitation.engagement,
            questionnaire=self.questionnaire, section=self.section, questions=self.questions, form=form,
            answers=self.answers(), field_name=field_name, index=self.index, total=len(self.sections),
            form_has_errors=errors, bases={field_name(q): b.render() for q, b in bases.items()},
            notice=notice, carried=answers.unconfirmed(self.invitation) & {q.id for q in self.questions},
            same_as=self.same_as_fields(),
            back_to_check=request.values.get("from") == "check",
        )

    def same_as_pairs(self) -> dict[str, Question]:
        """Security officer question → the responsible manager question above it on this page
        (「上記と同じ」: the same person is not typed twice)."""
        managers = [q for q in self.questions if q.annex_field == "responsible_manager" and q.type == "person"]
        if not managers:
            return {}
        return {q.id: managers[0] for q in self.questions
                if q.annex_field == "security_officer" and q.type == "person"}

    def same_as_posted(self) -> set[str]:
        return {qid for qid in self.same_as_pairs() if request.form.get(field_name(qid) + "-same") == "yes"}

    def same_as_fields(self) -> dict[str, dict[str, Any]]:
        """For the template: the checkbox's label and whether it is ticked (as posted, else as stored)."""
        pairs = self.same_as_pairs()
        if not pairs:
            return {}
        if request.method == "POST":
            ticked = self.same_as_posted()
        else:
            stored = self.answers(set(pairs) | {m.id for m in pairs.values()})
            ticked = {qid for qid, manager in pairs.items()
                      if stored.get(qid) and stored.get(qid) == stored.get(manager.id)}
        return {qid: {"label": manager.text_ja, "checked": qid in ticked} for qid, manager in pairs.items()}

    def next_url(self) -> str:
        if request.values.get("from") == "check":  # 「変更」 from the check page goes back there
            return url_for("portal.check") + f"#section-{field_name(self.key)}"
        if self.index + 1 < len(self.sections):
            nq, nsec, _ = self.sections[self.index + 1]
            return url_for("portal.section", qid=nq.id, section_id=nsec.id)
        return url_for("portal.check")


def _portal_key() -> str:
    """Rate limits count per link and address: behind one proxy address, contractors do not share
    one budget (the token itself is never kept, only a prefix of its hash)."""
    token_hash = hashlib.sha256(str(g.get("token", "")).encode("utf-8")).hexdigest()[:16]
    return f"portal:{token_hash}:{get_remote_address()}"


def _autosave_limit() -> str:
    return str(current_app.config["PORTAL_AUTOSAVE_RATE_LIMIT"])


def _posted_bases(page: SectionPage) -> dict[str, AnswerBase]:
    """The versions the page was rendered with (hidden fields `_v_<field>`), by question id."""
    out = {}
    for q in page.questions:
        base = AnswerBase.parse(request.form.get(BASE_PREFIX + field_name(q.id)))
        if base is not None:
            out[q.id] = base
    return out


CSRF_LOST = ("画面を開いてから時間がたったため、入力内容はまだ保存されていません。入力内容はこの画面に残しています。"
             "確認して、もう一度「保存して次へ」を押してください。")
SAVED_HERE = "回答を保存しました。"
FROZEN = ("回答はすでに送信されたため、この画面の入力は保存されていません。入力した内容はこの画面に残しています。"
          "送信した回答を変更する必要がある場合は、入力した内容を控えて、依頼元のお問い合わせ先にご連絡ください。")


def _csrf_refused() -> bool:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return False
    try:
        csrf.protect()
    except CSRFError:
        return True
    return False


@bp.route("/s/<qid>/<section_id>", methods=["GET", "POST"])
@csrf.exempt  # checked in the view: a lost session gets the page back with what was typed
@limiter.limit(_rate_limit, methods=["POST"], key_func=_portal_key)
def section(qid: str, section_id: str) -> Any:
    inv: Invitation = g.invitation
    assert inv.response is not None
    if inv.response.state != "draft":
        if request.method == "POST":  # a save after the freeze: refused, and what was typed stays on the page
            page = SectionPage.find(inv, qid, section_id)
            return page.render(page.form(), bases=_posted_bases(page), notice=FROZEN), 409
        flash("回答は提出済みです。内容の変更が必要な場合は、依頼元の担当者にご連絡ください。", "info")
        return redirect(url_for("portal.start"))
    page = SectionPage.find(inv, qid, section_id)
    if request.method == "POST" and _csrf_refused():
        form = page.form()
        return page.render(form, bases=_posted_bases(page), notice=CSRF_LOST), 400
    form = page.form()
    if request.method == "GET":
        return page.render(form)
    action = form.action.data or "continue"
    if action.startswith("add:"):
        # 「行を追加」: re-render with one more empty row, keeping what was typed (nothing saved yet).
        return page.render(page.form(extra_rows={action[4:]: 1}), bases=_posted_bases(page))
    form.validate()
    try:
        with refusable(StateError) as refusal:
            has_errors, bases = _save_section(page, form)
    except answers.Busy as busy:  # nothing saved: the page comes back with what was typed
        return page.render(form, bases=_posted_bases(page), notice=str(busy)), 503
    if refusal:  # submitted from another tab meanwhile: nothing saved, the typing kept
        return page.render(form, bases=_posted_bases(page), notice=FROZEN), 409
    if has_errors:
        keep_changes()  # the valid answers are saved; the page shows what failed and why
        return page.render(form, errors=True, bases=bases)
    if action == "later":
        flash("回答を保存しました。このページのリンク（メールのリンク）から、いつでも続きを入力できます。", "success")
        return redirect(url_for("portal.start"))
    if action == "save":  # Enter in a text field: saved, same page
        flash(SAVED_HERE, "success")
        return redirect(url_for("portal.section", qid=qid, section_id=section_id))
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


def _time_now() -> str:
    """「14時05分」: the one time style (the date is today's)."""
    now = utcnow().astimezone(JST)
    return format_time(now.hour, now.minute)


def _conflict_message(question: Question, conflict: answers.Conflict) -> str:
    when = date_time(conflict.updated_at)
    shown = (ANSWER_TYPES[question.type].display(question, conflict.value)
             if ANSWER_TYPES[question.type].is_answered(conflict.value) else "未回答")
    return (f"この設問は、別の画面（タブ）で{when}に新しい回答が保存されているため、保存しませんでした。"
            f"保存されている回答：「{shown}」。入力した内容はそのまま残しています。"
            "どちらにするか確かめて、もう一度保存してください。")


def _missing_message(missing: list[Question]) -> str:
    names = "、".join(f"「{q.text_ja}」" for q in missing)
    return f"次の必須の設問（又はその回答に必要な補足）が未回答のため、完了にできません：{names}。回答を保存しました。"


def _section_values(page: SectionPage, form: Any, only: set[str] | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    same = page.same_as_posted()
    for qid in same:  # 「上記と同じ」: the fields below the tick are not read, nor checked
        form[field_name(qid)].errors = []
    for question in page.questions:
        if only is not None and question.id not in only:
            continue
        field = form[field_name(question.id)]
        if question.type == "file":
            stored = _store_upload(page, question, field)
            if stored is not None:
                values[question.id] = stored
        elif not field.errors and question.id not in same:
            values[question.id] = getattr(field, "answer_value", None)
        if only is None:  # an autosave carries the changed answers only: a 補足 is saved with the page
            values.update(supplement_values(page.invitation, question, form))
    for qid, manager in page.same_as_pairs().items():
        if qid in same and manager.id in values and (only is None or qid in only):
            values[qid] = values[manager.id]
    return values


def stored_answers(response: Response, questions: list[Question]) -> dict[str, Any]:
    """The stored answers of these questions, with the 補足 and evidence file of those that have one."""
    extra = [key for q in questions if q.supplement is not None for key in (note_key(q.id), evidence_key(q.id))]
    return answers.stored_values(response, [q.id for q in questions] + extra)


def supplement_values(inv: Invitation, question: Question, form: Any) -> dict[str, Any]:
    """The 補足 and the evidence file beside an answer, as the form holds them (a refused file says why)."""
    if question.supplement is None:
        return {}
    out: dict[str, Any] = {}
    note = form[note_field_name(question.id)]
    if not note.errors:
        out[note_key(question.id)] = note.data or None
    if question.supplement.evidence:
        upload = form[evidence_field_name(question.id)]
        if upload.data and not upload.errors and inv.response is not None:
            try:
                out[evidence_key(question.id)] = evidence.store_evidence(
                    inv.response, evidence_key(question.id), upload.data.filename or "file", upload.data.read(),
                    current_app.config["UPLOAD_DIR"])
            except evidence.EvidenceRefused as exc:
                upload.errors = [str(exc)]
    return out


def _field_names(question: Question) -> list[str]:
    names = [field_name(question.id)]
    if question.supplement is not None:
        names.append(note_field_name(question.id))
        if question.supplement.evidence:
            names.append(evidence_field_name(question.id))
    return names


def _save_section(page: SectionPage, form: Any) -> tuple[bool, dict[str, AnswerBase]]:
    """Save every valid, changed answer of the section (an invalid one keeps its earlier saved
    answer; a stale one is refused); (whether some field failed, the versions to render with)."""
    values = _section_values(page, form)
    posted = _posted_bases(page)
    wants_done = form.section_done.data == "yes"
    has_errors = any(form[name].errors for x in page.questions for name in _field_names(x))
    result = answers.save_answers(
        page.invitation, values, base=posted, completed_section=page.key,
        section_done=wants_done and not has_errors, section_questions=page.questions,
    )
    assert page.invitation.response is not None
    uploaded = [q.id for q in page.questions if q.type == "file" and q.id in values]
    evidence.keep_answered(page.invitation.response, uploaded, current_app.config["UPLOAD_DIR"])
    for question in page.questions:
        conflict = result.conflicts.get(question.id)
        if conflict is not None:
            form[field_name(question.id)].errors = [_conflict_message(question, conflict)]
    if result.missing:
        form.section_done.errors = [_missing_message(result.missing)]
    # invalid fields keep the version they were rendered with; the others are as stored now
    bases = {**{qid: b for qid, b in posted.items() if qid not in values}, **result.versions}
    return has_errors or bool(result.conflicts) or bool(result.missing), bases


@bp.route("/s/<qid>/<section_id>/autosave", methods=["POST"])
@csrf.exempt  # checked below, answered in JSON
@limiter.limit(_autosave_limit, key_func=_portal_key)
def autosave(qid: str, section_id: str) -> Any:
    """The page's JavaScript saves the changed questions (`_changed` names their fields) with the
    versions they were rendered with; the answer gives the new versions, or why not."""
    inv: Invitation = g.invitation
    assert inv.response is not None
    if _csrf_refused():
        return jsonify(error="画面の有効期限が切れました。「保存して次へ」を押して保存してください。"), 400
    if inv.response.state != "draft":
        return jsonify(error=FROZEN), 409
    page = SectionPage.find(inv, qid, section_id)
    changed = set(request.form.getlist("_changed"))
    only = {q.id for q in page.questions if field_name(q.id) in changed and q.type != "file"}
    form = page.autosave_form(only)
    form.validate()
    try:
        with refusable(StateError) as refusal:
            result = answers.save_answers(inv, _section_values(page, form, only), base=_posted_bases(page))
    except answers.Busy as busy:
        return jsonify(error=str(busy), retry=True), 503
    if refusal:
        return jsonify(error=FROZEN), 409
    errors = {field_name(q.id): list(form[field_name(q.id)].errors) for q in page.questions
              if q.id in only and form[field_name(q.id)].errors}
    conflicts = {field_name(q.id): _conflict_message(q, result.conflicts[q.id]) for q in page.questions
                 if q.id in result.conflicts}
    return jsonify(
        saved_at=_time_now(),
        versions={field_name(q.id): result.versions[q.id].render() for q in page.questions
                  if q.id in result.versions},
        errors=errors, conflicts=conflicts,
    )


@bp.route("/check")
def check() -> Any:
    inv: Invitation = g.invitation
    response = inv.response
    assert response is not None
    if response.state != "draft":
        return redirect(url_for("portal.start"))
    return _render_check(inv)


def _check_row(question: Question, value: Any, given: dict[str, Any] | None = None) -> dict[str, Any]:
    answered = ANSWER_TYPES[question.type].is_answered(value)
    given = given or {}
    note = given.get(note_key(question.id)) or ""
    return {"question": question, "answered": answered,
            "display": ANSWER_TYPES[question.type].display(question, value) if answered else "未回答",
            "note": note, "evidence": given.get(evidence_key(question.id)),
            "note_missing": question.note_required(value) and not note}


def _check_groups(inv: Invitation) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every shown question with its answer, by section; and the required ones still missing."""
    assert inv.response is not None
    given = inv.response.answer_map()
    visible = answers.visible_ids(inv, given)
    unconfirmed = answers.unconfirmed(inv)
    groups, missing = [], []
    for q, sec, questions in _sections(inv):
        rows = [_check_row(question, given.get(question.id), given) | {"carried": question.id in unconfirmed}
                for question in questions if question.id in visible]
        url = url_for("portal.section", qid=q.id, section_id=sec.id) + "?from=check"
        missing += [{"question": row["question"], "url": f"{url}#{field_name(row['question'].id)}-group",
                     "carried": row["carried"] and row["answered"]}
                    for row in rows if (row["question"].required and not row["answered"]) or row["carried"]]
        missing += [{"question": row["question"], "note": True,
                     "url": f"{url}#{note_field_name(row['question'].id)}-group"}
                    for row in rows if row["note_missing"]]
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
@limiter.limit(_rate_limit, key_func=_portal_key)
def submit() -> Any:
    inv: Invitation = g.invitation
    if not EmptyForm().validate_on_submit():
        abort(400)
    if answers.missing_required(inv) or answers.unconfirmed(inv):
        return _render_check(inv, show_errors=True), 400
    with refusable(StateError) as refusal:
        answers.submit_response(inv)
    if refusal:
        flash(refusal.message, "error")
    else:
        receipts.confirmation_mail_after_commit(inv)
    return redirect(url_for("portal.start"))


@bp.route("/handover", methods=["GET", "POST"])
@limiter.limit(_rate_limit, methods=["POST"], key_func=_portal_key)
def handover() -> Any:
    """Hand the link to a colleague: named, recorded in the audit log, and mailed the link."""
    inv: Invitation = g.invitation
    if inv.state != "open":
        return redirect(url_for("portal.start"))
    form = HandoverForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("portal/handover.html", invitation=inv, engagement=inv.engagement, form=form,
                               form_has_errors=bool(form.errors)), status
    with refusable(StateError) as refusal:
        mail = invitations.hand_over(inv, name=form.delegate_name.data, email=form.delegate_email.data,
                                     link=invitations.portal_link(g.token))
    if refusal:
        flash(refusal.message, "error")
        return redirect(url_for("portal.start"))
    invitations.send_after_commit(mail, key=f"mail:handover:{inv.id}:{mail.to}",
                                  organisation_id=inv.engagement.organisation_id)
    flash(f"{form.delegate_name.data} 様に、回答のリンクをメールでお送りしました。引継ぎは"
          f"{inv.engagement.organisation.self_reference}の記録に残りました。", "success")
    return redirect(url_for("portal.start"))


@bp.route("/sheet.xlsx")
@limiter.limit(_rate_limit, key_func=_portal_key)
def sheet_download() -> Any:
    """The questionnaire as an Excel file to fill in offline (with the answers saved so far)."""
    inv: Invitation = g.invitation
    if inv.response is None or inv.response.state != "draft":
        abort(404)
    response = make_response(answer_sheets.workbook_for(inv))
    response.headers["Content-Type"] = XLSX
    response.headers["Content-Disposition"] = content_disposition(
        f"回答用_{inv.engagement.reference}.xlsx", f"answers-{inv.engagement.reference}.xlsx")
    return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/sheet", methods=["GET", "POST"])
@limiter.limit(_rate_limit, methods=["POST"], key_func=_portal_key)
def sheet_upload() -> Any:
    """Upload the filled-in workbook: row-level errors and nothing saved, or every answer saved."""
    inv: Invitation = g.invitation
    if inv.response is None or inv.response.state != "draft":
        return redirect(url_for("portal.start"))
    form = AnswerSheetForm()
    errors: list[str] = []
    if form.validate_on_submit():
        upload = form.sheet.data
        try:
            with refusable(StateError) as refusal:
                done = answer_sheets.import_workbook(inv, upload.filename or "answers.xlsx", upload.read(),
                                                     current_app.config["UPLOAD_DIR"],
                                                     actor=f"contractor:invitation:{inv.id}")
            if refusal:
                flash(refusal.message, "error")
                return redirect(url_for("portal.start"))
            errors = done.errors
        except (SheetRefused, evidence.EvidenceRefused) as exc:
            errors = [str(exc)]
        if not errors:
            flash(f"ファイルの回答を保存しました（{done.saved}問）。内容を確認して送信してください。", "success")
            return redirect(url_for("portal.check"))
        form.sheet.errors = ["ファイルに誤りがあるため、回答は保存していません。"
                             "下の一覧の行を直して、もう一度アップロードしてください。"]
    status = 400 if request.method == "POST" else 200
    return render_template("portal/sheet.html", invitation=inv, engagement=inv.engagement, form=form,
                           row_errors=errors, form_has_errors=bool(form.errors)), status


@bp.route("/receipt.pdf")
@limiter.limit(_rate_limit, key_func=_portal_key)
def receipt() -> Any:
    """The receipt of the submitted answers (PDF): every answer, the reference number, the contact."""
    inv: Invitation = g.invitation
    if inv.response is None or inv.response.state != "submitted":
        abort(404)
    pdf = receipts.receipt_pdf(inv)
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    number = receipts.receipt_number(inv.response)
    response.headers["Content-Disposition"] = content_disposition(f"回答受付票_{number}.pdf", f"receipt-{number}.pdf")
    return response


@bp.app_template_global()
def portal_section_url(q: Questionnaire, section: Section) -> str:
    return url_for("portal.section", qid=q.id, section_id=section.id)
