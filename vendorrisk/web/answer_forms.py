"""Answer forms built at run time from a frozen questionnaire definition.

The web side of each answer type lives in one registry, `WEB_ANSWER_TYPES`, keyed like the
domain's `ANSWER_TYPES` (checked at start-up by `check_answer_registry`): each entry gives the
WTForms field, the field's initial data from a stored answer, and the raw value handed to the
domain type, which does the normalising (full-width digits, 和暦 dates ...) and gives the
Japanese message. Saving never requires an answer: required questions are checked on the
check-answers page, so a contractor can save half a section and come back.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from flask import current_app
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileSize
from wtforms import Field, FieldList, Form, FormField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional, StopValidation, ValidationError

from ..domain.questionnaire import ANSWER_TYPES, YESNO_LABELS, AnswerError, Question, note_key
from ..domain.vocabulary import PERSON_FIELDS
from .forms import MultiCheckboxField, email_check, opts

TEXT_AREA_MAX = 4000


def field_name(question_id: str) -> str:
    return "q_" + question_id.replace(".", "__")


def note_field_name(question_id: str) -> str:
    return field_name(question_id) + "__note"


def evidence_field_name(question_id: str) -> str:
    return field_name(question_id) + "__evidence"


def _supplement_fields(question: Question) -> dict[str, Field]:
    """The 補足 (limit shown) and, where the bank allows it, the evidence file beside an answer."""
    spec = question.supplement
    if spec is None:
        return {}
    when = "」「".join(_value_label(question, v) for v in spec.required_when)
    hint = f"{spec.max_chars}文字まで。" + (f"「{when}」と回答したときは必須です。" if when else "")
    too_long = f"補足は{spec.max_chars}文字以内で入力してください。"
    out: dict[str, Field] = {note_field_name(question.id): TextAreaField(
        "補足", description=hint, filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[Length(max=spec.max_chars, message=too_long)])}
    if spec.evidence:
        limit = int(current_app.config["EVIDENCE_MAX_BYTES"])
        too_big = f"ファイルが大きすぎます。{limit // (1024 * 1024)}MB以下のファイルを選んでください。"
        out[evidence_field_name(question.id)] = FileField(
            "証跡ファイル", description="PDF・PNG・JPEG・Word・Excel・ZIP。新しいファイルを選ぶと差し替えます。",
            validators=[FileSize(limit, message=too_big)])
    return out


def _value_label(question: Question, value: str) -> str:
    option = question.option(value)
    if option is not None:
        return option.label_ja
    return YESNO_LABELS[value][0] if value in YESNO_LABELS else value


class _Normalise:
    """Validator: run the domain answer type and keep the normalised value on the field."""

    def __init__(self, question: Question):
        self.question = question

    def __call__(self, form: Form, field: Field) -> None:
        raw = WEB_ANSWER_TYPES[self.question.type].raw(field)
        try:
            field.answer_value = ANSWER_TYPES[self.question.type].normalize(raw, self.question)
        except AnswerError as exc:
            field.answer_value = None
            raise StopValidation(str(exc)) from exc


class _Keep:
    """For sub-fields: never fail on their own; the parent question's normaliser reports."""

    def __call__(self, form: Form, field: Field) -> None:
        field.errors[:] = []
        raise StopValidation()


def _nfkc(value: Any) -> Any:
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


class CheckedFormField(FormField):
    """A FormField (person) checked as one answer: the domain answer type, then its sub-form."""

    def __init__(self, form_class: type[Form], label: str | None = None, *, checks: list[Any], **kwargs: Any):
        super().__init__(form_class, label, **kwargs)
        self._checks = checks
        self._own_errors: list[str] = []

    @property
    def errors(self) -> list[str]:
        return self._own_errors

    @errors.setter
    def errors(self, value: list[str]) -> None:
        self._own_errors = list(value)

    def validate(self, form: Form, extra_validators: Any = ()) -> bool:
        """The domain answer type first (it names the first problem: 氏名 missing ...), then the
        sub-form's own checks (the e-mail address through email_validator)."""
        self._own_errors = []
        for check in self._checks:
            try:
                check(form, self)
            except (StopValidation, ValidationError) as exc:
                if exc.args and exc.args[0]:
                    self._own_errors.append(str(exc.args[0]))
                return False
        if not self.form.validate():
            self._own_errors = [message for messages in self.form.errors.values() for message in messages][:1]
        return not self._own_errors


def _both(ja: str, en: str, bilingual: bool) -> str:
    """Japanese first; with English beside it for foreign providers."""
    return f"{ja} / {en}" if bilingual and en and en != ja else ja


def _choices(question: Question, bilingual: bool, *, placeholder: bool = False) -> list[Any]:
    pairs: list[tuple[str, str]] = [("", _both("選んでください", "Choose", bilingual))] if placeholder else []
    pairs += [
        (o.value, _both(o.label_ja, o.label_en, bilingual)) for o in ANSWER_TYPES[question.type].choices(question)
    ]
    return opts(pairs)


def _field_kwargs(question: Question) -> dict[str, Any]:
    return {"description": question.help_ja, "validators": [Optional(), _Normalise(question)]}


class WebAnswerType:
    """The web side of one domain answer type."""

    key = ""

    def field(self, question: Question, rows: int, bilingual: bool) -> Field:
        raise NotImplementedError

    def initial(self, question: Question, value: Any) -> Any:
        """A stored answer as the field's initial data."""
        return value

    def raw(self, field: Field) -> Any:
        """What the person typed, as the domain type reads it."""
        return field.data

    def rows(self, stored: Any) -> int:
        return 1


class ChoiceAnswer(WebAnswerType):
    def __init__(self, key: str):
        self.key = key

    def field(self, question: Question, rows: int, bilingual: bool) -> Field:
        return RadioField(
            question.text_ja, choices=_choices(question, bilingual), validate_choice=False, **_field_kwargs(question)
        )


class MultiAnswer(WebAnswerType):
    key = "multi"

    def field(self, question: Question, rows: int, bilingual: bool) -> Field:
        return MultiCheckboxField(
            question.text_ja, choices=_choices(question, bilingual), validate_choice=False, **_field_kwargs(question)
        )


class TextAnswer(WebAnswerType):
    key = "text"

    def field(self, question: Question, rows: int, bilingual: bool) -> Field:
        return TextAreaField(
            question.text_ja, render_kw={"maxlength": TEXT_AREA_MAX, "rows": 4}, **_field_kwargs(question)
        )


class DateAnswer(WebAnswerType):
    key = "date"

    def field(self, question: Question, rows: int, bilingual: bool) -> Field:
        return StringField(question.text_ja, render_kw={"inputmode": "text"}, **_field_kwargs(question))


class NumberAnswer(WebAnswerType):
    key = "number"

    def field(self, question: Question, rows: int, bilingual: bool) -> Field:
        return StringField(question.text_ja, render_kw={"inputmode": "numeric"}, **_field_kwargs(question))

    def initial(self, question: Question, value: Any) -> Any:
        return None if value is None else str(value)


class FileAnswer(WebAnswerType):
    """An evidence upload: its size is checked here, its type by services.evidence from the content.

    No FileAllowed on the name: a name is only a hint (browsers and mail clients drop or change
    suffixes), and the content decides what the file is and which suffix it is stored with."""

    key = "file"

    def field(self, question: Question, rows: int, bilingual: bool) -> Field:
        limit = int(current_app.config["EVIDENCE_MAX_BYTES"])
        too_big = f"ファイルが大きすぎます。{limit // (1024 * 1024)}MB以下のファイルを選んでください。"
        return FileField(question.text_ja, description=question.help_ja, validators=[FileSize(limit, message=too_big)])

    def initial(self, question: Question, value: Any) -> Any:
        return None  # an upload field never shows a stored file (the page lists it)

    def raw(self, field: Field) -> Any:
        return None  # stored by the view through services.evidence


def _person_form(bilingual: bool) -> type[Form]:
    attrs: dict[str, Any] = {}
    for key, ja, en, _required in PERSON_FIELDS:
        if key == "email":
            validators: list[Any] = [Optional(), email_check("メールアドレスの形式が正しくありません。")]
            attrs[key] = StringField(_both(ja, en, bilingual), filters=[_nfkc], validators=validators)
        else:
            attrs[key] = StringField(_both(ja, en, bilingual), validators=[_Keep()])
    return type("PersonForm", (Form,), attrs)


class PersonAnswer(WebAnswerType):
    key = "person"

    def field(self, question: Question, rows: int, bilingual: bool) -> Field:
        return CheckedFormField(
            _person_form(bilingual), label=question.text_ja, description=question.help_ja, checks=[_Normalise(question)]
        )

    def raw(self, field: Field) -> Any:
        return {k: (v or "") for k, v in field.data.items()}


def _sub_field(sub: Question, bilingual: bool) -> Field:
    label = _both(sub.text_ja, sub.text_en, bilingual)
    if sub.type in ("single", "yesno"):
        return SelectField(
            label, choices=_choices(sub, bilingual, placeholder=True), validators=[_Keep()], validate_choice=False
        )
    if sub.type == "multi":
        return MultiCheckboxField(label, choices=_choices(sub, bilingual), validators=[_Keep()], validate_choice=False)
    return StringField(label, validators=[_Keep()])


class GroupAnswer(WebAnswerType):
    """Repeatable rows (再委託先, accounts ...), one sub-form per row."""

    key = "group"

    def field(self, question: Question, rows: int, bilingual: bool) -> Field:
        attrs: dict[str, Any] = {sub.id: _sub_field(sub, bilingual) for sub in question.fields}
        row_form = type(f"Row_{field_name(question.id)}", (Form,), attrs)
        return FieldList(
            FormField(row_form),
            label=question.text_ja,
            description=question.help_ja,
            min_entries=rows,
            validators=[_Normalise(question)],
        )

    def initial(self, question: Question, value: Any) -> Any:
        return None if value is None else [dict(row) for row in value]

    def raw(self, field: Field) -> Any:
        return [dict(row) for row in field.data]

    def rows(self, stored: Any) -> int:
        return max(1, len(stored)) if isinstance(stored, list) else 1


WEB_ANSWER_TYPES: dict[str, WebAnswerType] = {
    t.key: t
    for t in (
        ChoiceAnswer("yesno"),
        ChoiceAnswer("single"),
        MultiAnswer(),
        TextAnswer(),
        DateAnswer(),
        NumberAnswer(),
        FileAnswer(),
        PersonAnswer(),
        GroupAnswer(),
    )
}


def check_answer_registry(domain: Iterable[str] | None = None, web: Mapping[str, WebAnswerType] | None = None) -> None:
    """Refuse to start when an answer type has no web field (or the web knows a type the domain does not)."""
    domain_keys = set(ANSWER_TYPES if domain is None else domain)
    web_keys = set(WEB_ANSWER_TYPES if web is None else web)
    if domain_keys != web_keys:
        raise RuntimeError(
            "answer types differ between vendorrisk.domain.questionnaire.ANSWER_TYPES and "
            f"vendorrisk.web.answer_forms.WEB_ANSWER_TYPES: without a web field {sorted(domain_keys - web_keys)}, "
            f"unknown to the domain {sorted(web_keys - domain_keys)}"
        )


def build_field(question: Question, rows: int = 1, bilingual: bool = False) -> Field:
    return WEB_ANSWER_TYPES[question.type].field(question, rows, bilingual)


class SectionFormBase(FlaskForm):
    # Which button was pressed: "continue", "later" or "add:<question id>". Filled by the button itself.
    action = StringField()
    section_done = RadioField(
        "この項目の回答を完了しましたか",
        choices=opts([("yes", "はい、完了しました"), ("no", "いいえ、後で続けます")]),
        validators=[Optional()],
        validate_choice=False,
    )


# Section form classes, built once per (definition hash, section, questions shown, rows per question,
# language, evidence limit): building one costs more than filling it. Bounded; cleared when full.
_FORM_CLASSES: dict[tuple[Any, ...], type[FlaskForm]] = {}
_FORM_CLASSES_MAX = 512


def _section_form_class(questions: list[Question], rows: dict[str, int], bilingual: bool,
                        cache_key: Hashable | None) -> type[FlaskForm]:
    key = None
    if cache_key is not None:
        # The questions are part of the key: one section shows different questions to engagements of
        # different profiles (personal data, 機密性 ...), and a class missing a field would fail the save.
        key = (cache_key, bilingual, int(current_app.config["EVIDENCE_MAX_BYTES"]), tuple(q.id for q in questions),
               tuple(sorted((qid, n) for qid, n in rows.items() if n != 1)))
        cached = _FORM_CLASSES.get(key)
        if cached is not None:
            return cached
    attrs: dict[str, Any] = {
        field_name(q.id): WEB_ANSWER_TYPES[q.type].field(q, rows[q.id], bilingual) for q in questions
    }
    for q in questions:
        attrs.update(_supplement_fields(q))
    cls: type[FlaskForm] = type("SectionForm", (SectionFormBase,), attrs)
    if key is not None:
        if len(_FORM_CLASSES) >= _FORM_CLASSES_MAX:
            _FORM_CLASSES.clear()
        _FORM_CLASSES[key] = cls
    return cls


def build_section_form(
    questions: list[Question],
    answers: dict[str, Any],
    *,
    done: bool,
    extra_rows: dict[str, int] | None = None,
    bilingual: bool = False,
    cache_key: Hashable | None = None,
    csrf: bool = True,
) -> FlaskForm:
    """The section's form: filled from the stored answers, and from the request when it was posted
    (form values and uploaded files, as Flask-WTF reads them). With `cache_key` (the definition's
    content hash and the section id) the form class is built once and reused. `csrf=False` for a
    form whose request the view has already checked (the autosave: not checked twice)."""
    extra_rows = extra_rows or {}
    data: dict[str, Any] = {"section_done": "yes" if done else None}
    rows: dict[str, int] = {}
    for q in questions:
        web = WEB_ANSWER_TYPES[q.type]
        stored = answers.get(q.id)
        rows[q.id] = web.rows(stored) + extra_rows.get(q.id, 0)
        data[field_name(q.id)] = web.initial(q, stored)
        if q.supplement is not None:
            data[note_field_name(q.id)] = answers.get(note_key(q.id)) or ""
    cls = _section_form_class(questions, rows, bilingual, cache_key)
    return cls(data=data) if csrf else cls(data=data, meta={"csrf": False})


def build_checklist_form(question: Question, stored: Any, *, posted: bool = False) -> FlaskForm:
    """A one-question form of the 所管課's internal checklist (the field is named as on the portal,
    so several forms sit on one page without clashing). Only the form that was posted reads the request."""
    web = WEB_ANSWER_TYPES[question.type]
    name = field_name(question.id)
    cls: type[FlaskForm] = type("ChecklistForm", (FlaskForm,), {name: web.field(question, 1, False)})
    data = {name: web.initial(question, stored)}
    return cls(data=data) if posted else cls(formdata=None, data=data)
