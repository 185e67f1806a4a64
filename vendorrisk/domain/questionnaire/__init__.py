"""Questionnaire definitions: vocabulary, file schema, answer types, loading, freezing, visibility.

Pure Python (no Flask, no database).  A definition file in ``questionnaires/*.yaml`` is validated
by the pydantic models of ``schema`` and built into the immutable dataclasses of ``definition``;
``frozen`` gives the stored JSON and its content hash (the version); ``answers`` holds the answer
type registry; ``visibility`` decides what an engagement sees and traces obligations.

Every name other layers use is re-exported here, so ``from ..domain import questionnaire as qdef``
keeps working.
"""

from __future__ import annotations

from .annex_fields import ENTER_ONCE, annex_answers, declarations, shared_questions
from .answers import (
    ANSWER_TYPES,
    TEXT_MAX,
    UNANSWERED_JA,
    YESNO_LABELS,
    AnswerType,
    DateType,
    FileType,
    GroupType,
    MultiType,
    NumberType,
    PersonType,
    SingleType,
    TextType,
    YesNoType,
    _is_na,
    answer_display,
    answer_score,
    normalize_answer,
    to_wareki,
)
from .definition import (
    Option,
    Question,
    Questionnaire,
    Section,
    Supplement,
    evidence_key,
    matches,
    normalize_profile,
    note_key,
)
from .frozen import FrozenQuestionnaire, canonical_json, content_hash, freeze, thaw
from .loading import check_all, load_all, load_questionnaire, parse_definition, validate_spec
from .schema import QuestionnaireSpec, QuestionSpec, json_schema
from .terms import (
    ANNEX_ARTICLE_KEYS,
    ANNEX_FIELD_KEYS,
    APPLIES_KEYS,
    CHOICE_TYPES,
    DEFAULT_DEADLINE_DAYS,
    FIELD_ID_RE,
    FILE_ID_RE,
    FROZEN_FORMAT,
    GROUP_FIELD_TYPES,
    KINDS,
    NA,
    NETWORK_SEGMENTS,
    OBLIGATION_KEYS,
    OPTION_VALUE_RE,
    PERSON_FIELDS,
    QUESTION_ID_RE,
    AnswerError,
    DefinitionError,
)
from .visibility import is_shown, select_for_engagement, shown_when_target, trace, uncovered, visible_questions

__all__ = [
    "ENTER_ONCE", "ANNEX_ARTICLE_KEYS", "ANNEX_FIELD_KEYS", "ANSWER_TYPES", "APPLIES_KEYS", "AnswerError", "AnswerType",
    "CHOICE_TYPES", "DEFAULT_DEADLINE_DAYS", "DateType", "DefinitionError", "FIELD_ID_RE", "FILE_ID_RE",
    "FROZEN_FORMAT", "FileType", "FrozenQuestionnaire", "GROUP_FIELD_TYPES", "GroupType", "KINDS", "MultiType",
    "NA", "NETWORK_SEGMENTS", "NumberType", "OBLIGATION_KEYS", "OPTION_VALUE_RE", "Option", "PERSON_FIELDS",
    "PersonType", "QUESTION_ID_RE", "Question", "QuestionSpec", "Questionnaire", "QuestionnaireSpec", "Section",
    "SingleType", "Supplement", "TEXT_MAX", "TextType", "UNANSWERED_JA", "YESNO_LABELS", "YesNoType", "_is_na",
    "annex_answers", "answer_display", "answer_score", "canonical_json", "check_all", "content_hash",
    "declarations", "evidence_key", "freeze", "is_shown", "json_schema", "load_all", "load_questionnaire",
    "matches", "normalize_answer", "normalize_profile", "note_key", "parse_definition", "select_for_engagement",
    "shared_questions", "shown_when_target", "thaw", "to_wareki", "trace", "uncovered", "validate_spec",
    "visible_questions",
]
