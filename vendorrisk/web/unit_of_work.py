"""One unit of work per request (the shape of Indico's `RH.process`).

Views change objects through services and never commit nor roll back. After the view returns:

- a successful response (2xx/3xx) commits; a 4xx/5xx rolls back, unless the view called
  `keep_changes()` (a page that saved the valid answers and shows the others' errors);
- any exception rolls back, then the error handlers run;
- a view that caught a refused move (`with refusable(StateError) as refusal:`) rolls back even
  though it answers with a redirect and a message;
- a plain GET/HEAD writes nothing: it is rolled back, unless the view is marked `@audited_read`
  (a document download recorded in the audit log);
- work registered with `services.unit_of_work.after_commit` (mail) runs after the commit, and a
  view that shows its result returns `RenderAfterCommit(render)`: the page is rendered then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ..services.unit_of_work import abandon, complete, wrote

F = TypeVar("F", bound=Callable[..., Any])

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RenderAfterCommit:
    """A view's answer that needs the commit first (e.g. it shows whether the mail went out)."""

    render: Callable[[], ResponseReturnValue]


@dataclass
class Refusal:
    error: Exception | None = None

    def __bool__(self) -> bool:
        return self.error is not None

    @property
    def message(self) -> str:
        return str(self.error) if self.error is not None else ""


@contextmanager
def refusable(*errors: type[Exception]) -> Iterator[Refusal]:
    """Catch a refused move (its message is for the user) and roll the whole request back."""
    refusal = Refusal()
    try:
        yield refusal
    except errors as exc:
        refusal.error = exc
        g.unit_of_work_outcome = "rollback"


def keep_changes() -> None:
    """Commit this request even though the view answers with an error status."""
    if g.get("unit_of_work_outcome") != "rollback":
        g.unit_of_work_outcome = "commit"


def audited_read(view: F) -> F:
    """Mark a GET view whose audit record (who downloaded what) is committed."""
    view.audited_read = True  # type: ignore[attr-defined]
    return view


def _view_marked_audited() -> bool:
    endpoint = request.url_rule.endpoint if request.url_rule else None
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return bool(getattr(view, "audited_read", False))


def _should_commit(response: Response) -> bool:
    outcome = g.get("unit_of_work_outcome")
    if outcome is not None:
        return outcome == "commit"
    if request.method in SAFE_METHODS and not _view_marked_audited():
        if wrote():
            current_app.logger.warning("%s %s tried to write; rolled back", request.method, request.path)
        return False
    return response.status_code < 400


def run_in_unit_of_work(dispatch: Callable[[], ResponseReturnValue]) -> ResponseReturnValue:
    try:
        rv = dispatch()
        if isinstance(rv, RenderAfterCommit):
            complete()
            return rv.render()
        response = current_app.make_response(rv)
        if _should_commit(response):
            complete()
        else:
            abandon()
        return response
    except BaseException:
        abandon()
        raise


class UnitOfWorkFlask(Flask):
    """Flask whose every view runs in one unit of work (see the module docstring)."""

    def dispatch_request(self) -> ResponseReturnValue:
        return run_in_unit_of_work(super().dispatch_request)
