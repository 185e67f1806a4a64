"""One unit of work: services change objects and flush; one place commits, and an error rolls back.

`unit_of_work()` is that place for the CLI and the demo; the web runs every request inside the same
rules (`vendorrisk.web.unit_of_work`). Work that must wait for the outcome is registered here:
`after_commit` (send the mail only once the invitation is stored) and `after_rollback` (remove a
file written for a row that was rolled back). Registered work runs once, after the outcome is
known, whoever commits; it must not use the database session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from ..extensions import db

T = TypeVar("T")

_AFTER_COMMIT = "vendorrisk.after_commit"
_AFTER_ROLLBACK = "vendorrisk.after_rollback"
_WROTE = "vendorrisk.wrote"

log = logging.getLogger(__name__)


class Pending(Generic[T]):
    """The result of after-commit work: `value` is there once the commit has run it."""

    def __init__(self, work: Callable[[], T]):
        self._work = work
        self._done = False
        self._value: T | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._value = self._work()
        except Exception as exc:  # the commit has happened; report, never undo it
            log.exception("after-commit work failed")
            self._error = exc
        self._done = True

    @property
    def done(self) -> bool:
        return self._done

    @property
    def value(self) -> T:
        if not self._done:
            raise RuntimeError("the unit of work has not been committed yet")
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def after_commit(work: Callable[[], T]) -> Pending[T]:
    """Run `work` after the current transaction commits (never if it rolls back)."""
    pending: Pending[T] = Pending(work)
    db.session.info.setdefault(_AFTER_COMMIT, []).append(pending)
    return pending


def after_rollback(work: Callable[[], Any]) -> None:
    """Run `work` if the current transaction rolls back (never if it commits)."""
    db.session.info.setdefault(_AFTER_ROLLBACK, []).append(work)


def wrote(session: Session | None = None) -> bool:
    """Whether the current transaction has changed anything (flushed or pending)."""
    session = session or db.session()
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


def complete() -> None:
    """Commit the current unit of work, then hand over the jobs it asked for."""
    db.session.commit()
    dispatch_jobs()


def abandon() -> None:
    """Roll the current unit of work back (its after-rollback work runs)."""
    db.session.rollback()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Commit once when the block ends, roll back on any exception (CLI commands, the demo)."""
    try:
        yield db.session()
    except BaseException:
        abandon()
        raise
    complete()


def dispatch_jobs() -> None:
    """Hand the jobs the committed transaction asked for to the queue (or run them inline)."""
    from . import jobs

    jobs.dispatch_pending()


@event.listens_for(Session, "after_flush")
def _note_write(session: Session, flush_context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_ROLLBACK, None)
    session.info.pop(_WROTE, None)
    for pending in session.info.pop(_AFTER_COMMIT, []):
        pending.run()


@event.listens_for(Session, "after_soft_rollback")
def _run_after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is not None:
        return  # a savepoint: the outer transaction decides
    session.info.pop(_AFTER_COMMIT, None)
    session.info.pop(_WROTE, None)
    for work in session.info.pop(_AFTER_ROLLBACK, []):
        try:
            work()
        except Exception:
            log.exception("after-rollback work failed")
