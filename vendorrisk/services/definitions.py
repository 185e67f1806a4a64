"""Questionnaire definitions: the files on disk (reloaded when they change) and the frozen copies
an invitation was sent with."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..domain import questionnaire as qdef
from ..domain.vocabulary import canonical_json
from ..extensions import db
from ..models import Invitation, InvitationQuestionnaire, QuestionnaireVersion
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
    """The definitions frozen when the invitation was sent (never the files on disk).

    A definition's JSON (~100 KB) is loaded and thawed once per process, on the first request that
    needs it. Which versions an invitation has never changes once it is sent, so they are read
    once per process too, under the invitation's token hash (random and unique in every database:
    a cached entry can only describe that invitation; a renewed link reads them again)."""
    known = _VERSIONS_BY_TOKEN.get(invitation.token_hash)
    if known is None:
        rows = db.session.execute(
            select(QuestionnaireVersion.id, QuestionnaireVersion.version)
            .join(InvitationQuestionnaire,
                  InvitationQuestionnaire.questionnaire_version_id == QuestionnaireVersion.id)
            .where(InvitationQuestionnaire.invitation_id == invitation.id)
            .order_by(InvitationQuestionnaire.position, InvitationQuestionnaire.id)
        ).all()
        known = [(row_id, version) for row_id, version in rows]
        if known:  # none yet: the invitation is being sent in this request
            if len(_VERSIONS_BY_TOKEN) >= 4096:
                _VERSIONS_BY_TOKEN.clear()
            _VERSIONS_BY_TOKEN[invitation.token_hash] = known
    return [_thawed_by_hash(row_id, version) for row_id, version in known]


_VERSIONS_BY_TOKEN: dict[str, list[tuple[int, str]]] = {}


ContentKey = tuple[tuple[str, ...], str]


def content_key(questionnaires: list[qdef.Questionnaire], profile: dict[str, Any]) -> ContentKey:
    """What decides everything derived from an invitation's questions (the sections shown, the
    answers entered once): the definitions' content hashes and the engagement profile."""
    return tuple(q.version for q in questionnaires), canonical_json(profile)


# Frozen definitions by content hash: the hash is the content, so one process-wide cache is safe.
_THAWED: dict[str, qdef.Questionnaire] = {}


def _thawed_by_hash(row_id: int, version: str) -> qdef.Questionnaire:
    cached = _THAWED.get(version)
    if cached is None:
        definition = db.session.scalar(select(QuestionnaireVersion.definition).filter_by(id=row_id))
        cached = _THAWED[version] = qdef.thaw(definition or {})
    return cached

