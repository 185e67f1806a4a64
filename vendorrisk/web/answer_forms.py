"""Answer forms built at run time from a frozen questionnaire definition.

Each answer type of `domain.questionnaire.ANSWER_TYPES` maps to a WTForms field here; the domain
type does the normalising (full-width digits, 和暦 dates ...) and gives the Japanese message.
Saving never requires an answer: required questions are checked on the check-answers page, so a
contractor can save half a section and come back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import Field, FieldList, Form, FormField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional, StopValidation, ValidationError

from ..domain.questionnaire import ANSWER_TYPES, AnswerError, Question
from .forms import MultiCheckboxField, opts

PERSON_LABELS = (
    ("name", "氏名", "Name"),
    ("title", "役職", "Title"),
    ("department", "所属部署", "Department"),
    ("email", "メールアドレス", "E-mail"),
    ("phone", "電話番号", "Phone"),
)


def field_name(question_id: str) -> str:
    return "q_" + question_id.replace(".", "__")


class _Normalise:
    """Validator: run the domain answer type and keep the normalised value on the field."""

    def __init__(self, question: Question):
        self.question = question

    def __call__(self, form: Form, field: Field) -> None:
        raw = composite_data(self.question, field)
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


def composite_data(question: Question, field: Field) -> Any:
    if question.type == "person":
        return {k: (v or "") for k, v in field.data.items()}
    if question.type == "group":
        return [dict(row) for row in field.data]
    if question.type == "file":
        return None  # handled by the view (upload)
    return field.data


class CheckedFormField(FormField):
    """A FormField (person) whose composite value is checked by the domain answer type."""

    def __init__(self, form_class: type[Form], label: str | None = None, *, checks: list[Any], **kwargs: Any):
        super().__init__(form_class, label, **kwargs)
        self._checks = checks
        self._own_errors: list[str] = []

    @property  # type: ignore[override]
    def errors(self) -> list[str]:
        return self._own_errors

    @errors.setter
    def errors(self, value: list[str]) -> None:
        self._own_errors = list(value)

    def validate(self, form: Form, extra_validators: Any = ()) -> bool:
        self._own_errors = []
        for check in self._checks:
            try:
                check(form, self)
            except (StopValidation, ValidationError) as exc:
                if exc.args and exc.args[0]:
                    self._own_errors.append(str(exc.args[0]))
                break
        return not self._own_errors


def _both(ja: str, en: str, bilingual: bool) -> str:
    """Japanese first; with English beside it for foreign providers."""
    return f"{ja} / {en}" if bilingual and en and en != ja else ja


def _sub_field(sub: Question, bilingual: bool = False) -> Field:
    label = _both(sub.text_ja, sub.text_en, bilingual)
    if sub.type in ("single", "yesno"):
        options = ANSWER_TYPES[sub.type].choices(sub)
        return SelectField(label, choices=opts([("", _both("選んでください", "Choose", bilingual))] + [(o.value, _both(o.label_ja, o.label_en, bilingual)) for o in options]),
                           validators=[_Keep()], validate_choice=False)
    if sub.type == "multi":
        return MultiCheckboxField(label, choices=opts((o.value, _both(o.label_ja, o.label_en, bilingual)) for o in sub.options), validators=[_Keep()], validate_choice=False)
    return StringField(label, validators=[_Keep()])


def _row_form(question: Question, bilingual: bool = False) -> type[Form]:
    attrs: dict[str, Any] = {sub.id: _sub_field(sub, bilingual) for sub in question.fields}
    return type(f"Row_{field_name(question.id)}", (Form,), attrs)


def _person_form(bilingual: bool = False) -> type[Form]:
    attrs = {key: StringField(_both(ja, en, bilingual), validators=[_Keep()]) for key, ja, en in PERSON_LABELS}
    return type("PersonForm", (Form,), attrs)


def build_field(question: Question, rows: int = 1, bilingual: bool = False) -> Field:
    kw: dict[str, Any] = {"description": question.help_ja, "validators": [Optional(), _Normalise(question)]}
    label = question.text_ja
    kind = question.type
    if kind in ("yesno", "single"):
        options = ANSWER_TYPES[kind].choices(question)
        return RadioField(label, choices=opts((o.value, _both(o.label_ja, o.label_en, bilingual)) for o in options), validate_choice=False, **kw)
    if kind == "multi":
        return MultiCheckboxField(label, choices=opts((o.value, _both(o.label_ja, o.label_en, bilingual)) for o in question.options), validate_choice=False, **kw)
    if kind == "text":
        return TextAreaField(label, render_kw={"maxlength": 4000, "rows": 4}, **kw)
    if kind in ("date", "number"):
        return StringField(label, render_kw={"inputmode": "numeric" if kind == "number" else "text"}, **kw)
    if kind == "file":
        return FileField(label, description=question.help_ja)
    if kind == "person":
        return CheckedFormField(_person_form(bilingual), label=label, description=question.help_ja, checks=[_Normalise(question)])
    if kind == "group":
        return FieldList(FormField(_row_form(question, bilingual)), label=label, description=question.help_ja,
                         min_entries=rows, validators=[_Normalise(question)])
    raise ValueError(f"unknown answer type {kind}")


def _initial(question: Question, value: Any) -> Any:
    """A stored answer as the field's initial data."""
    if value is None:
        return None
    if question.type == "person":
        return value
    if question.type == "group":
        return [{k: v for k, v in row.items()} for row in value]
    if question.type == "date":
        return value
    if question.type == "number":
        return str(value)
    return value


class SectionFormBase(FlaskForm):
    # Which button was pressed: "continue", "later" or "add:<question id>". Filled by the button itself.
    action = StringField()
    section_done = RadioField(
        "このセクションの回答を完了しましたか",
        choices=opts([("yes", "はい、完了しました"), ("no", "いいえ、後で続けます")]),
        validators=[Optional()], validate_choice=False,
    )


def build_section_form(questions: list[Question], answers: dict[str, Any], *, done: bool,
                       extra_rows: dict[str, int] | None = None, formdata: Any = None,
                       bilingual: bool = False) -> FlaskForm:
    extra_rows = extra_rows or {}
    attrs: dict[str, Any] = {}
    data: dict[str, Any] = {"section_done": "yes" if done else None}
    for q in questions:
        stored = answers.get(q.id)
        rows = max(1, len(stored) if q.type == "group" and isinstance(stored, list) else 1) + extra_rows.get(q.id, 0)
        attrs[field_name(q.id)] = build_field(q, rows=rows, bilingual=bilingual)
        if q.type != "file":
            data[field_name(q.id)] = _initial(q, stored)
    cls: type[FlaskForm] = type("SectionForm", (SectionFormBase,), attrs)
    if formdata is None:
        return cls(data=data)
    return cls(formdata=formdata, data=data)


Normaliser = Callable[[Question, Field], Any]
