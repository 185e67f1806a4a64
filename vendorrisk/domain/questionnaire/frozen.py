"""Freezing and thawing: the stored form of a definition, and its content hash (the version).

An invitation stores ``freeze(q)``: the JSON dump of :class:`FrozenQuestionnaire`, every default
filled in, plus ``version``, the SHA-256 of the canonical JSON of everything else.  Formatting or
comments in the YAML never change a version; any change of content does.  ``thaw`` rebuilds
exactly the same object later, whatever happened to the file since, and refuses a snapshot whose
content no longer matches its hash.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, ValidationError, model_serializer

from ..vocabulary import canonical_json, canonical_sha256
from .definition import Option, Question, Questionnaire, Section, Supplement
from .terms import FROZEN_FORMAT, DefinitionError

__all__ = ["FrozenQuestionnaire", "canonical_json", "content_hash", "freeze", "freeze_body", "thaw"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FrozenText(_Frozen):
    ja: str
    en: str


class FrozenJapanese(_Frozen):
    ja: str


class FrozenOption(_Frozen):
    value: str
    label: FrozenText
    score: float

    @classmethod
    def of(cls, o: Option) -> FrozenOption:
        return cls(value=o.value, label=FrozenText(ja=o.label_ja, en=o.label_en), score=o.score)

    def to_option(self) -> Option:
        return Option(self.value, self.label.ja, self.label.en, float(self.score))


class FrozenQuestion(_Frozen):
    id: str
    section_id: str
    type: str
    text: FrozenText
    help: FrozenText
    options: list[FrozenOption]
    weight: float
    required: bool
    must_pass: bool
    na_allowed: bool
    applies_when: dict[str, Any]
    shown_when: dict[str, list[str]] | None
    derives_from: str
    guideline: str
    annex_articles: list[str]
    finding: FrozenJapanese
    remediation: FrozenJapanese
    deadline_days: int
    fields: list[FrozenQuestion]
    annex_field: str = ""
    obligation: str = ""
    party: str = "contractor"
    supplement: dict[str, Any] | None = None

    @model_serializer(mode="wrap")
    def _without_empty_annex_field(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Definitions frozen before questions declared annex fields (or obligations, or a party other
        # than the contractor) keep their hashes.
        data = handler(self)
        for late in ("annex_field", "obligation", "supplement"):
            if not data.get(late):
                data.pop(late, None)
        if data.get("party") == "contractor":
            data.pop("party")
        return data

    @classmethod
    def of(cls, q: Question) -> FrozenQuestion:
        return cls(
            id=q.id, section_id=q.section_id, type=q.type,
            text=FrozenText(ja=q.text_ja, en=q.text_en), help=FrozenText(ja=q.help_ja, en=q.help_en),
            options=[FrozenOption.of(o) for o in q.options], weight=q.weight, required=q.required,
            must_pass=q.must_pass, na_allowed=q.na_allowed, applies_when=copy.deepcopy(q.applies_when),
            shown_when=copy.deepcopy(q.shown_when), derives_from=q.derives_from, guideline=q.guideline,
            annex_articles=list(q.annex_articles), finding=FrozenJapanese(ja=q.finding_ja),
            remediation=FrozenJapanese(ja=q.remediation_ja), deadline_days=q.deadline_days,
            fields=[cls.of(f) for f in q.fields], annex_field=q.annex_field, obligation=q.obligation_ja,
            party=q.party,
            supplement=None if q.supplement is None else {
                "required_when": list(q.supplement.required_when), "max_chars": q.supplement.max_chars,
                "evidence": q.supplement.evidence},
        )

    def to_question(self) -> Question:
        return Question(
            id=self.id, section_id=self.section_id, type=self.type, text_ja=self.text.ja,
            text_en=self.text.en, help_ja=self.help.ja, help_en=self.help.en,
            options=tuple(o.to_option() for o in self.options), weight=float(self.weight),
            required=self.required, must_pass=self.must_pass, na_allowed=self.na_allowed,
            applies_when=copy.deepcopy(self.applies_when),
            shown_when=copy.deepcopy(self.shown_when),
            derives_from=self.derives_from, guideline=self.guideline,
            annex_articles=tuple(self.annex_articles), finding_ja=self.finding.ja,
            remediation_ja=self.remediation.ja, deadline_days=int(self.deadline_days),
            fields=tuple(f.to_question() for f in self.fields), annex_field=self.annex_field,
            obligation_ja=self.obligation, party=self.party,
            supplement=None if self.supplement is None else Supplement(
                required_when=tuple(self.supplement.get("required_when") or ()),
                max_chars=int(self.supplement.get("max_chars") or 1000),
                evidence=bool(self.supplement.get("evidence"))),
        )


class FrozenSection(_Frozen):
    id: str
    title: FrozenText
    questions: list[FrozenQuestion]


class FrozenQuestionnaire(_Frozen):
    """The stored form of a parsed definition (without its version)."""

    format: int
    id: str
    kind: str
    title: FrozenText
    description: FrozenText
    applies_when: dict[str, Any]
    sections: list[FrozenSection]

    @classmethod
    def of(cls, qid: str, kind: str, title: tuple[str, str], description: tuple[str, str],
           applies_when: dict, sections: tuple[Section, ...]) -> FrozenQuestionnaire:
        return cls(
            format=FROZEN_FORMAT, id=qid, kind=kind,
            title=FrozenText(ja=title[0], en=title[1]),
            description=FrozenText(ja=description[0], en=description[1]),
            applies_when=copy.deepcopy(applies_when),
            sections=[
                FrozenSection(id=s.id, title=FrozenText(ja=s.title_ja, en=s.title_en),
                              questions=[FrozenQuestion.of(q) for q in s.questions])
                for s in sections
            ],
        )

    def to_definition(self, version: str) -> Questionnaire:
        return Questionnaire(
            id=self.id, kind=self.kind, title_ja=self.title.ja, title_en=self.title.en,
            description_ja=self.description.ja, applies_when=copy.deepcopy(self.applies_when),
            sections=tuple(
                Section(s.id, s.title.ja, s.title.en, tuple(q.to_question() for q in s.questions))
                for s in self.sections
            ),
            version=version, description_en=self.description.en,
        )


def content_hash(body: dict) -> str:
    return canonical_sha256(body)


def freeze_body(qid: str, kind: str, title: tuple[str, str], description: tuple[str, str],
                applies_when: dict, sections: tuple[Section, ...]) -> dict:
    """The JSON the version is the hash of."""
    return FrozenQuestionnaire.of(qid, kind, title, description, applies_when, sections).model_dump(mode="json")


def freeze(q: Questionnaire) -> dict:
    """A JSON-able snapshot of the parsed definition, with its version.  Store it with an
    invitation; ``thaw`` gives back an equal Questionnaire (same version)."""
    body = freeze_body(q.id, q.kind, (q.title_ja, q.title_en), (q.description_ja, q.description_en),
                       q.applies_when, q.sections)
    body["version"] = q.version
    return body


def thaw(d: dict) -> Questionnaire:
    """Rebuild a Questionnaire from ``freeze`` output.  The stored version is checked against
    the hash of the stored content, so a tampered snapshot is refused."""
    if not isinstance(d, dict) or "version" not in d:
        raise DefinitionError(["frozen definition: version: missing"])
    if d.get("format") != FROZEN_FORMAT:
        raise DefinitionError([f"frozen definition: format: unsupported ({d.get('format')!r})"])
    body = {k: v for k, v in d.items() if k != "version"}
    if content_hash(body) != d["version"]:
        raise DefinitionError([f"frozen definition {d.get('id')}: version: content does not match its hash"])
    try:
        return FrozenQuestionnaire.model_validate(body).to_definition(d["version"])
    except ValidationError as e:
        raise DefinitionError([f"frozen definition {d.get('id')}: malformed: {e}"]) from None
