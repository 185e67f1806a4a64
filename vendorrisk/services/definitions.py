"""Questionnaire definitions: the files on disk (reloaded when they change) and the frozen copies
an invitation was sent with."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..domain import questionnaire as qdef
from ..extensions import db
from ..models import Invitation, QuestionnaireVersion
from ..paths import QUESTIONNAIRES_DIR


@lru_cache(maxsize=4)
def _load_definitions(directory: str, stamp: tuple[tuple[str, int, int], ...]) -> dict[str, qdef.Questionnaire]:
    return qdef.load_all(Path(directory))


def current_definitions(directory: Path | None = None) -> dict[str, qdef.Questionnaire]:
    """The definitions on disk (config QUESTIONNAIRES_DIR), reloaded when a file changes (mtime)."""
    directory = directory or Path(current_app.config.get("QUESTIONNAIRES_DIR") or QUESTIONNAIRES_DIR)
    stamp = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in directory.glob("*.yaml")))
    return _load_definitions(str(directory), stamp)


def store_version(q: qdef.Questionnaire) -> QuestionnaireVersion:
    """The frozen row for this definition's content hash, created on first use."""
    row = db.session.scalar(
        select(QuestionnaireVersion).filter_by(questionnaire_id=q.id, version=q.version)
    )
    if row is None:
        row = QuestionnaireVersion(
            questionnaire_id=q.id, version=q.version, kind=q.kind, title=q.title_ja, definition=qdef.freeze(q)
        )
        db.session.add(row)
        db.session.flush()
    return row


def invitation_questionnaires(invitation: Invitation) -> list[qdef.Questionnaire]:
    """The definitions frozen when the invitation was sent (never the files on disk)."""
    return [_thawed(link.questionnaire_version) for link in invitation.questionnaire_links]


# Frozen definitions by content hash: the hash is the content, so one process-wide cache is safe.
_THAWED: dict[str, qdef.Questionnaire] = {}


def _thawed(row: QuestionnaireVersion) -> qdef.Questionnaire:
    if row.version not in _THAWED:
        _THAWED[row.version] = qdef.thaw(row.definition)
    return _THAWED[row.version]
