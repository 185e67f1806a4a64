"""The questionnaire vocabulary: keys, codes and patterns a definition file may use, and errors."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..annex_articles import ANNEX_FIELDS, ARTICLE_KEYS
from ..policy import OBLIGATION_KEYS  # the obligations of clause 6(8) (DOMAIN.md §1)
from ..vocabulary import KINDS, PERSON_FIELDS

__all__ = [
    "ANNEX_ARTICLE_KEYS", "ANNEX_FIELD_KEYS", "APPLIES_KEYS", "CHOICE_TYPES", "DEFAULT_DEADLINE_DAYS",
    "FIELD_ID_RE", "FILE_ID_RE", "FROZEN_FORMAT", "GROUP_FIELD_TYPES", "KINDS", "NA", "NETWORK_SEGMENTS",
    "OBLIGATION_KEYS", "OPTION_VALUE_RE", "PERSON_FIELDS", "QUESTION_ID_RE", "AnswerError", "DefinitionError",
]

#: Article keys a question may feed (``annex_articles``): the keys of the annex library.
ANNEX_ARTICLE_KEYS: tuple[str, ...] = ARTICLE_KEYS
#: Contract facts a question may supply (``annex_field``): the fields the annex snapshot holds.
ANNEX_FIELD_KEYS: tuple[str, ...] = tuple(ANNEX_FIELDS)
NETWORK_SEGMENTS = ("individual_number", "lgwan", "internet")
APPLIES_KEYS = (
    "kinds",
    "confidentiality_min",
    "confidentiality_max",
    "personal_data",
    "my_number",
    "network_segment",
)
#: Sub-field types allowed inside a ``group``.
GROUP_FIELD_TYPES = ("text", "date", "number", "single", "multi", "yesno")
#: Types whose answers carry their own quality score (the others score "answered or not").
CHOICE_TYPES = ("yesno", "single", "multi")
NA = "na"

QUESTION_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
FIELD_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
FILE_ID_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
OPTION_VALUE_RE = re.compile(r"^[A-Za-z0-9_.-]+$")

DEFAULT_DEADLINE_DAYS = 30
FROZEN_FORMAT = 1


class DefinitionError(ValueError):
    """A definition file (or frozen definition) is invalid.  ``errors`` lists every problem."""

    def __init__(self, errors: Iterable[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors) if self.errors else "invalid definition")


class AnswerError(ValueError):
    """An answer value is not acceptable for its question.  The message is Japanese, for users."""
