"""Evidence files: stored under a random name outside static, the row flushed with the answer.

A file written for a request that rolls back is removed again (no orphans on disk). A file question
holds one file: uploading another replaces it, and the earlier row goes with the same commit (its
file is removed once the commit has happened), so a contractor cannot fill the disk by re-uploading."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

import filetype
from sqlalchemy import select

from ..extensions import db
from ..models import Evidence, Response
from .unit_of_work import after_commit, after_rollback

# What the content really is (sniffed, not the name) → the suffix it is stored with.
ALLOWED_EVIDENCE = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/zip": ".zip",
}
REFUSED_TYPE = "添付できるのはPDF・画像（PNG・JPEG）・Word・Excel・ZIPのファイルです。"


class EvidenceRefused(ValueError):
    """The file cannot be kept; the message is Japanese and says what to choose instead."""


def _sniffed_type(data: bytes) -> str:
    if not data:
        raise EvidenceRefused("選んだファイルが空です。内容のあるファイルを選んでください。")
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime not in ALLOWED_EVIDENCE:
        raise EvidenceRefused(REFUSED_TYPE)
    return mime


def store_evidence(response: Response, question_id: str, filename: str, data: bytes,
                   upload_dir: str | Path) -> dict[str, Any]:
    """Keep one uploaded file for a question; returns the answer value that points at it."""
    mime = _sniffed_type(data)
    folder = Path(upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (secrets.token_hex(16) + ALLOWED_EVIDENCE[mime])
    path.write_bytes(data)
    after_rollback(lambda: path.unlink(missing_ok=True))
    name = Path(filename or "file").name[:200]
    evidence = Evidence(response_id=response.id, question_id=question_id, filename=name, stored_name=path.name,
                        content_type=mime, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    _drop_earlier(response, question_id, folder)
    db.session.add(evidence)
    db.session.flush()
    return {"evidence_id": evidence.id, "filename": name}


def _drop_earlier(response: Response, question_id: str, folder: Path) -> None:
    earlier = db.session.scalars(select(Evidence).filter_by(response_id=response.id, question_id=question_id)).all()
    for old in earlier:
        stale = folder / old.stored_name
        db.session.delete(old)
        after_commit(lambda stale=stale: stale.unlink(missing_ok=True))  # type: ignore[misc]
