"""The file format of questionnaires/*.yaml, described once as pydantic models.

These models validate every bank at load, in ``vendorrisk questionnaires check`` and in the
spreadsheet import, and give the JSON Schema an author's editor checks a file against
(``vendorrisk questionnaires schema``).  A validated file becomes the immutable dataclasses of
``definition`` with every default filled in.

Authoring conveniences (a plain string for ``{ja: ...}``, one kind instead of a list, section
``defaults``, the three spellings of ``shown_when``) are accepted here and normalized away, so
they never reach the frozen definition and never change a version.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..vocabulary import PARTIES, PERSON_FIELDS
from .answers import ANSWER_TYPES
from .definition import Option, Question, Section, Supplement
from .guideline import CITATION_USAGE, parse_guideline
from .terms import (
    ANNEX_ARTICLE_KEYS,
    ANNEX_FIELD_KEYS,
    CHOICE_TYPES,
    DEFAULT_DEADLINE_DAYS,
    FIELD_ID_RE,
    FILE_ID_RE,
    GROUP_FIELD_TYPES,
    KINDS,
    NA,
    NETWORK_SEGMENTS,
    OBLIGATION_KEYS,
    OPTION_VALUE_RE,
    QUESTION_ID_RE,
)

# The closed vocabularies of the file, as types (the JSON Schema lists their values).
Kind = Literal[KINDS]  # type: ignore[valid-type]
AnswerTypeKey = Literal[tuple(ANSWER_TYPES)]  # type: ignore[valid-type]
GroupFieldTypeKey = Literal[GROUP_FIELD_TYPES]  # type: ignore[valid-type]
ObligationKey = Literal[OBLIGATION_KEYS]  # type: ignore[valid-type]
Segment = Literal[NETWORK_SEGMENTS]  # type: ignore[valid-type]
ArticleKey = Literal[ANNEX_ARTICLE_KEYS]  # type: ignore[valid-type]  # the annex library's keys
Party = Literal[PARTIES]  # type: ignore[valid-type]

Weight = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
Score = Annotated[float, Field(strict=True, ge=0, le=1, allow_inf_nan=False)]
Confidentiality = Annotated[int, Field(strict=True, ge=1, le=3)]
DeadlineDays = Annotated[int, Field(strict=True, ge=0, le=3650)]


#: Answer types a municipality question may have (a small form on the engagement page).
MUNICIPALITY_TYPES = ("yesno", "single", "multi", "text", "date", "number")


def rule_error(field: str, message: str) -> PydanticCustomError:
    """A broken authoring rule; ``field`` (relative to the object) is reported with the message."""
    return PydanticCustomError("definition_rule", message, {"field": field})


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------


def _text_from_string(value: Any) -> Any:
    return {"ja": value} if isinstance(value, str) else value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizedText(_Spec):
    """Japanese text with its English version (``{ja, en}``; a plain string is the Japanese)."""

    ja: StrictStr = ""
    en: StrictStr = ""

    @field_validator("ja", "en")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class RequiredLocalizedText(LocalizedText):
    """Like LocalizedText, but the Japanese must be written."""

    @field_validator("ja")
    @classmethod
    def _written(cls, value: str) -> str:
        if not value.strip():
            raise rule_error("", "必須です（日本語）")
        return value.strip()


Text = Annotated[LocalizedText, BeforeValidator(_text_from_string, json_schema_input_type=str | LocalizedText)]
RequiredText = Annotated[
    RequiredLocalizedText,
    BeforeValidator(_text_from_string, json_schema_input_type=str | RequiredLocalizedText),
]


class AppliesWhen(_Spec):
    """When a question (or the whole file) applies; every condition given must hold."""

    kinds: Annotated[list[Kind], Field(min_length=1)] | None = None
    confidentiality_min: Confidentiality | None = None
    confidentiality_max: Confidentiality | None = None
    personal_data: StrictBool | None = None
    my_number: StrictBool | None = None
    network_segment: Annotated[list[Segment | None], Field(min_length=1)] | None = None

    @field_validator("kinds", mode="before", json_schema_input_type=Kind | list[Kind])
    @classmethod
    def _one_kind(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("kinds")
    @classmethod
    def _kinds_in_order(cls, value: list[str] | None) -> list[str] | None:
        return sorted(set(value), key=KINDS.index) if value else value

    @field_validator("network_segment", mode="before", json_schema_input_type=Segment | list[Segment | None] | None)
    @classmethod
    def _one_segment(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) or value is None else value

    @field_validator("network_segment")
    @classmethod
    def _unique_segments(cls, value: list | None) -> list | None:
        return list(dict.fromkeys(value)) if value else value

    @model_validator(mode="after")
    def _bounds_in_order(self) -> AppliesWhen:
        low, high = self.confidentiality_min, self.confidentiality_max
        if low is not None and high is not None and low > high:
            raise rule_error("", "confidentiality_min が confidentiality_max より大きくなっています")
        return self

    def condition(self) -> dict:
        """The normalized condition: only the keys the author wrote."""
        return self.model_dump(exclude_unset=True)


class OptionSpec(_Spec):
    value: Annotated[str, Field(pattern=OPTION_VALUE_RE.pattern)]
    label: RequiredText
    score: Score

    @field_validator("value", mode="before", json_schema_input_type=str | int)
    @classmethod
    def _code(cls, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int) or not OPTION_VALUE_RE.match(str(value)):
            raise rule_error("", "短い値（半角英数字と _ . - ）にしてください")
        if str(value) == NA:
            raise rule_error("", "'na' は予約されています（「該当なし」は na_allowed: true で許可します）")
        return str(value)

    def to_option(self) -> Option:
        return Option(self.value, self.label.ja, self.label.en, float(self.score))


_SHOWN_WHEN_USAGE = "{question: <設問ID>, equals: <値>} または {question: <設問ID>, in: [..]} の形にしてください"


class ShownWhenQuestion(_Spec):
    """``{question: <id>, equals: <value>}`` or ``{question: <id>, in: [<value>, ...]}``."""

    question: str
    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")


def _shown_when_pair(raw: dict) -> tuple[Any, Any]:
    if "question" in raw:
        unknown = set(raw) - {"question", "equals", "in"}
        if unknown:
            raise rule_error("", f"使えないキーです：{', '.join(sorted(unknown))}（question・equals・in のみ）")
        if not isinstance(raw["question"], str) or ("equals" in raw) == ("in" in raw):
            raise rule_error("", _SHOWN_WHEN_USAGE)
        return raw["question"], [raw["equals"]] if "equals" in raw else raw["in"]
    if len(raw) != 1:
        raise rule_error("", "条件にできる設問は1つだけです。")
    ((target, values),) = raw.items()
    return target, values if isinstance(values, list) else [values]


def parse_shown_when(raw: Any) -> dict | None:
    """The three authoring forms → ``{<controlling question id>: [values]}``."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw:
        raise rule_error("", _SHOWN_WHEN_USAGE)
    target, values = _shown_when_pair(raw)
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise rule_error("", "値は選択肢の値（文字列）にしてください")
    return {str(target): list(dict.fromkeys(values))}


ShownWhenInput = ShownWhenQuestion | dict[str, str | list[str]]


# ---------------------------------------------------------------------------------------------
# Questions
# ---------------------------------------------------------------------------------------------


def _check_keys(value: Any, allowed: tuple[str, ...], what: str) -> list[str]:
    values = _as_list(value)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise rule_error("", f"{what}のリストにしてください")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise rule_error("", f"特記事項の条項にないキー「{unknown[0]}」です（ANNEX_ARTICLE_KEYS を参照）。")
    return list(dict.fromkeys(values))


class _QuestionBase(_Spec):
    id: str
    text: RequiredText
    help: Text = LocalizedText()
    options: list[OptionSpec] | None = None
    required: StrictBool = True
    must_pass: StrictBool = False
    na_allowed: StrictBool = False
    applies_when: AppliesWhen = AppliesWhen()
    guideline: StrictStr = ""
    annex_articles: list[str] = []
    finding: Text = LocalizedText()
    remediation: Text = LocalizedText()
    #: The 是正事項 the annex writes when this question yields a finding, as an obligation of 乙 that
    #: reads on after 「（期限）までに、」 and ends in the 連用形 (「…を整備し」); the annex adds
    #: 「、その結果を書面で甲に報告すること。」. Never the question or an instruction to the contractor.
    obligation: Text = LocalizedText()
    deadline_days: DeadlineDays = DEFAULT_DEADLINE_DAYS

    @field_validator("annex_articles", mode="before", json_schema_input_type=ArticleKey | list[ArticleKey])
    @classmethod
    def _article_keys(cls, value: Any) -> list[str]:
        return _check_keys(value, ANNEX_ARTICLE_KEYS, "条項のキー（例：confidentiality）")

    @field_validator("options")
    @classmethod
    def _distinct_options(cls, value: list[OptionSpec] | None) -> list[OptionSpec] | None:
        values = [o.value for o in value or ()]
        for dup in sorted({v for v in values if values.count(v) > 1}):
            raise rule_error("", f"選択肢の値 '{dup}' が重複しています")
        return value

    def _check_options(self, qtype: str) -> None:
        if qtype in ("single", "multi"):
            if self.options is None or len(self.options) < 2:
                raise rule_error("options", "選択肢を2つ以上のリストで書いてください。")
        elif self.options is not None:
            raise rule_error("options", f"種別 {qtype} では options は使えません")

    def _check_must_pass(self, qtype: str, weight: float) -> None:
        if not self.must_pass:
            return
        if not self.required:
            raise rule_error("must_pass", "must_pass の設問は required にもしてください。")
        if qtype not in CHOICE_TYPES:
            raise rule_error("must_pass", "must_pass にできるのは yesno・single・multi の設問だけです。")
        if self.na_allowed:
            raise rule_error("na_allowed", "必須合格の設問では「該当なし」を許可できません")
        if weight <= 0:
            raise rule_error("weight", "必須合格の設問の重みは 0 より大きくしてください")

    def _common(self, section_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "section_id": section_id,
            "text_ja": self.text.ja,
            "text_en": self.text.en,
            "help_ja": self.help.ja,
            "help_en": self.help.en,
            "options": tuple(o.to_option() for o in self.options or ()),
            "required": self.required,
            "must_pass": self.must_pass,
            "na_allowed": self.na_allowed,
            "applies_when": self.applies_when.condition(),
            "guideline": self.guideline.strip(),
            "annex_articles": tuple(self.annex_articles),
            "deadline_days": self.deadline_days,
            "obligation_ja": self.obligation.ja.strip().rstrip("。、"),
        }


class GroupFieldSpec(_QuestionBase):
    """One column of a repeatable ``group`` question."""

    type: GroupFieldTypeKey
    weight: Weight = 0.0
    required: StrictBool = False
    derives_from: StrictStr = ""

    @field_validator("id")
    @classmethod
    def _field_id(cls, value: str) -> str:
        if not FIELD_ID_RE.match(value):
            raise rule_error("", "半角小文字の項目ID（例：name）にしてください")
        return value

    @model_validator(mode="after")
    def _rules(self) -> GroupFieldSpec:
        self._check_options(self.type)
        self._check_must_pass(self.type, self.weight)
        return self

    def to_question(self, section_id: str) -> Question:
        return Question(
            type=self.type, weight=float(self.weight), derives_from="",
            finding_ja=self.finding.ja, remediation_ja=self.remediation.ja, **self._common(section_id),
        )


def _person_fields(section_id: str) -> tuple[Question, ...]:
    return tuple(
        Question(id=k, section_id=section_id, type="text", text_ja=ja, text_en=en, required=req,
                 weight=0.0, finding_ja="", remediation_ja="")
        for k, ja, en, req in PERSON_FIELDS
    )


def _defaults_may_supply(schema: dict[str, Any]) -> None:
    # derives_from and guideline are required of every question, but a section's defaults may
    # give them: the schema an editor checks a file against must not demand them on each question.
    schema["required"] = [k for k in schema.get("required", []) if k not in SectionDefaults.model_fields]


class SupplementSpec(_Spec):
    """補足 (free text) and evidence beside a question's answer."""

    required_when: list[StrictStr] = Field(
        default=[], description="補足が必須になる回答の値（例：[partial, no] は「一部」「いいえ」のとき）")
    max_chars: int = Field(default=1000, ge=1, le=4000, description="補足の最大文字数（画面に表示します）")
    evidence: StrictBool = Field(default=False, description="証跡ファイルを1つ添付できる")

    def to_supplement(self) -> Supplement:
        return Supplement(required_when=tuple(self.required_when), max_chars=self.max_chars, evidence=self.evidence)


class QuestionSpec(_QuestionBase):
    """One question of a section."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_defaults_may_supply)

    type: AnswerTypeKey  # type: ignore[valid-type]
    weight: Weight = 1.0
    shown_when: dict[str, list[str]] | None = None
    derives_from: ObligationKey
    guideline: Annotated[StrictStr, Field(min_length=1)]
    #: Who answers: the contractor (through its link) or the municipality (the 所管課's checklist).
    party: Party = "contractor"
    annex_field: Annotated[str, Field(json_schema_extra={"enum": list(ANNEX_FIELD_KEYS)})] = ""
    fields: Annotated[list[GroupFieldSpec], Field(min_length=1)] | None = None
    supplement: SupplementSpec | None = None

    @field_validator("id")
    @classmethod
    def _question_id(cls, value: str) -> str:
        if not QUESTION_ID_RE.match(value):
            raise rule_error("", "ピリオドで区切った半角小文字のID（例：out.contract.confidentiality）にしてください")
        return value

    @field_validator("guideline", mode="before")
    @classmethod
    def _guideline_written(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise rule_error("", "必須です（例：対策基準 8.1(2)）")
        if parse_guideline(value) is None:
            raise rule_error("", CITATION_USAGE)
        return value

    @field_validator("shown_when", mode="before", json_schema_input_type=ShownWhenInput | None)
    @classmethod
    def _shown_when_form(cls, value: Any) -> dict | None:
        return parse_shown_when(value)

    @field_validator("annex_field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value and value not in ANNEX_FIELD_KEYS:
            raise rule_error("", f"特記事項の項目「{value}」はありません（{', '.join(ANNEX_FIELD_KEYS)}）")
        return value

    @model_validator(mode="after")
    def _rules(self) -> QuestionSpec:
        if self.supplement is not None and self.type in ("file", "group", "person"):
            raise rule_error("supplement", f"種別 {self.type} の設問には補足欄を付けられません")
        if self.supplement is not None and self.supplement.required_when:
            allowed = {"yes", "partial", "no", "na", *(o.value for o in self.options or ())}
            unknown = [v for v in self.supplement.required_when if v not in allowed]
            if unknown:
                raise rule_error("supplement", f"required_when の値 '{unknown[0]}' はこの設問の回答にありません")
        self._check_options(self.type)
        self._check_fields()
        self._check_must_pass(self.type, self.weight)
        self._check_party()
        return self

    def _check_party(self) -> None:
        """The municipality's own duties are a checklist of plain answers: they never bind the
        contractor (no 必須合格, no contract fact) and depend on no one's answer."""
        if self.party != "municipality":
            return
        if self.type not in MUNICIPALITY_TYPES:
            types = ", ".join(MUNICIPALITY_TYPES)
            raise rule_error("party", f"本市（所管課）が答える設問の種別は {types} のいずれかです")
        if self.must_pass:
            raise rule_error("must_pass", "本市（所管課）の設問は必須合格にできません（事業者の点数に含めません）")
        if self.annex_field or self.shown_when:
            raise rule_error("party", "本市（所管課）が答える設問には annex_field・shown_when を書けません")

    def _check_fields(self) -> None:
        if self.type == "group":
            if self.fields is None:
                raise rule_error("fields", "group には項目（fields）を1つ以上書いてください。")
            ids = [f.id for f in self.fields]
            for dup in sorted({i for i in ids if ids.count(i) > 1}):
                raise rule_error("fields", f"項目ID '{dup}' が重複しています")
        elif self.fields is not None:
            if self.type == "person":
                fixed = ", ".join(key for key, _ja, _en, _required in PERSON_FIELDS)
                raise rule_error("fields", f"担当者型の項目は決まっています（{fixed}）。fields は書けません")
            raise rule_error("fields", f"種別 {self.type} では fields は使えません")

    def to_question(self, section_id: str) -> Question:
        if self.type == "person":
            fields = _person_fields(section_id)
        else:
            fields = tuple(f.to_question(section_id) for f in self.fields or ())
        return Question(
            type=self.type,
            weight=float(self.weight),
            shown_when=self.shown_when,
            derives_from=self.derives_from,
            finding_ja=self.finding.ja or f"「{self.text.ja}」について、十分な回答が得られていません。",
            remediation_ja=self.remediation.ja or "回答内容を確認し、必要な対策を講じたうえで回答を更新してください。",
            fields=fields,
            annex_field=self.annex_field,
            party=self.party,
            supplement=self.supplement.to_supplement() if self.supplement is not None else None,
            **self._common(section_id),
        )


# ---------------------------------------------------------------------------------------------
# Sections and the file
# ---------------------------------------------------------------------------------------------


class SectionDefaults(_Spec):
    """Values every question of the section takes unless it sets its own."""

    weight: Weight | None = None
    required: StrictBool | None = None
    must_pass: StrictBool | None = None
    na_allowed: StrictBool | None = None
    applies_when: AppliesWhen | None = None
    derives_from: ObligationKey | None = None
    guideline: StrictStr | None = None
    annex_articles: list[str] | str | None = None
    deadline_days: DeadlineDays | None = None


class SectionSpec(_Spec):
    id: str
    title: RequiredText
    defaults: SectionDefaults = SectionDefaults()
    questions: Annotated[list[QuestionSpec], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("defaults"), dict):
            return data
        if not isinstance(data.get("questions"), list):
            return data
        defaults = data["defaults"]
        questions = [{**defaults, **q} if isinstance(q, dict) else q for q in data["questions"]]
        return {**data, "questions": questions}

    @field_validator("id")
    @classmethod
    def _section_id(cls, value: str) -> str:
        if not QUESTION_ID_RE.match(value):
            raise rule_error("", "ピリオドで区切った半角小文字のID（例：out.contract）にしてください")
        return value

    def to_section(self) -> Section:
        return Section(self.id, self.title.ja, self.title.en, tuple(q.to_question(self.id) for q in self.questions))


class QuestionnaireSpec(_Spec):
    """A questionnaire definition file (questionnaires/<id>.yaml)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, title="vendorrisk questionnaire definition",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    id: str
    kind: Kind
    title: RequiredText
    description: Text = LocalizedText()
    applies_when: AppliesWhen = AppliesWhen()
    sections: Annotated[list[SectionSpec], Field(min_length=1)]

    @field_validator("id")
    @classmethod
    def _file_id(cls, value: str) -> str:
        if not FILE_ID_RE.match(value):
            raise rule_error("", "半角小文字のID（例：outsourcing, cloud-high）にしてください")
        return value


def json_schema() -> dict:
    """The JSON Schema of a definition file, for editors (yaml-language-server) and reviewers."""
    return QuestionnaireSpec.model_json_schema(mode="validation")
