"""A logging filter that masks contractor tokens (`/r/<token>`) in every log line.

The token in an invitation link is the contractor's only credential, so it must never reach a log
file: gunicorn's access and error logs, Werkzeug's request log (`flask run`) and the app's own
logger all pass through `TokenMaskingFilter`, which rewrites the formatted message and the
arguments of a record before any handler writes it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

TOKEN_PATH_RE = re.compile(r"/r/[^/?#\s\"']+")
MASKED = "/r/[token]"
# Every logger that may print a request path.
LOGGER_NAMES = ("", "gunicorn.access", "gunicorn.error", "werkzeug", "vendorrisk", "flask.app")


def mask_tokens(text: str) -> str:
    return TOKEN_PATH_RE.sub(MASKED, text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_tokens(value)
    if isinstance(value, bytes):
        return mask_tokens(value.decode("latin-1")).encode("latin-1")
    return value


class TokenMaskingFilter(logging.Filter):
    """Masks /r/<token> in the message, its arguments (tuple or gunicorn's atoms dict) and any
    exception text; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_tokens(record.msg)
        if isinstance(record.args, dict):
            for key, value in list(record.args.items()):  # in place: gunicorn's SafeAtoms keeps its type
                record.args[key] = _mask_value(value)
        elif isinstance(record.args, tuple):
            record.args = tuple(_mask_value(value) for value in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_tokens(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_tokens(record.exc_text)
        return True


def install(logger_names: tuple[str, ...] = LOGGER_NAMES) -> None:
    """Put one masking filter on each named logger and on every handler they have now (a filter on
    a logger does not see records propagated from its children; one on the handler does)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        _add_once(logger)
        for handler in logger.handlers:
            _add_once(handler)


def _add_once(target: logging.Filterer) -> None:
    if not any(isinstance(existing, TokenMaskingFilter) for existing in target.filters):
        target.addFilter(TokenMaskingFilter())
