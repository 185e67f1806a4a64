"""Evidence files: stored under a random name outside static, the row flushed with the answer.

A file written for a request that rolls back is removed again (no orphans on disk). A file question
holds one file: uploading another replaces it, and the earlier row goes with the same commit (its
file is removed once the commit has happened), so a contractor cannot fill the disk by re-uploading;
an upload from a stale tab goes instead, and the newer answer keeps its file (`keep_answered`).

Crash safety (a worker killed at any moment, or a power loss): a file is written to a temporary name
in the same folder, flushed to disk (fsync), and only then renamed to its final name, before the row
that names it is committed. So a committed row always names a whole file, and the final name never
holds a partial one. What a crash can leave is only the other way round — a temporary leftover, or a
whole file whose row never committed (or whose replaced row did) — and `sweep_orphans` removes those
(at server start, and by `vendorrisk evidence sweep`)."""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filetype
from sqlalchemy import select

from ..extensions import db
from ..models import Answer, Evidence, Response
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
    write_atomically(path, data)
    after_rollback(lambda: path.unlink(missing_ok=True))
    name = Path(filename or "file").name[:200]
    evidence = Evidence(response_id=response.id, question_id=question_id, filename=name, stored_name=path.name,
                        content_type=mime, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    db.session.add(evidence)
    db.session.flush()
    return {"evidence_id": evidence.id, "filename": name}


def keep_answered(response: Response, question_ids: list[str], upload_dir: str | Path) -> None:
    """Once the answers are saved: each file question keeps only the evidence its answer names. An
    earlier file that an upload replaced goes, and so does an upload whose answer was not written (a
    stale tab: the newer answer's file stays); their files are removed once the commit has happened."""
    if not question_ids:
        return
    named = {a.question_id: (a.value or {}).get("evidence_id") if isinstance(a.value, dict) else None
             for a in db.session.scalars(select(Answer).where(Answer.response_id == response.id,
                                                              Answer.question_id.in_(question_ids)))}
    rows = db.session.scalars(select(Evidence).where(Evidence.response_id == response.id,
                                                     Evidence.question_id.in_(question_ids)))
    folder = Path(upload_dir)
    for row in rows:
        if row.id != named.get(row.question_id):
            stale = folder / row.stored_name
            db.session.delete(row)
            after_commit(lambda stale=stale: stale.unlink(missing_ok=True))  # type: ignore[misc]
    db.session.flush()


TEMP_PREFIX = ".upload-"
TEMP_SUFFIX = ".tmp"
# A file younger than this may belong to a request still under way (written, not yet committed);
# the app's EVIDENCE_SWEEP_MINUTES setting.
SWEEP_AFTER_SECONDS = 10 * 60


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """`path` holds all of `data` or does not exist, whatever happens to this process or the machine."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)  # the new name itself survives a power loss


@dataclass
class SweepReport:
    removed: list[str] = field(default_factory=list)  # file names, not paths
    kept_young: int = 0  # files without a row, too recent to tell from a request under way


def sweep_orphans(upload_dir: str | Path, *, older_than: float = SWEEP_AFTER_SECONDS) -> SweepReport:
    """Remove what no evidence row names: temporary leftovers and files whose row never committed
    (or was replaced), once they are older than `older_than` seconds. Reads the database; writes none."""
    report = SweepReport()
    folder = Path(upload_dir)
    if not folder.is_dir():
        return report
    named = set(db.session.scalars(select(Evidence.stored_name)))
    cutoff = time.time() - older_than
    for path in folder.iterdir():
        if path.name in named or not path.is_file():
            continue
        try:
            if path.stat().st_mtime > cutoff:
                report.kept_young += 1
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        report.removed.append(path.name)
    return report
