"""The one-time display of a new invitation link, across the redirect after sending.

The token is never stored in clear: the database keeps its SHA-256, and the session (a signed cookie)
keeps it sealed, XORed with a keystream derived from SECRET_KEY and a fresh nonce, for LINK_MINUTES
after sending. While it is there the result page can show the link again; then only
「新しいリンクで再送する」 (a new token) is left."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app, session

from ..models import Invitation

SESSION_KEY = "invitation_links"
LINK_MINUTES = 15
MAX_KEPT = 5


@dataclass(frozen=True)
class ShownLink:
    token: str
    mail: str  # "smtp" (sent), "queued", "outbox" (written, not sent by SMTP), "error" (SMTP refused it)
    until: float


def _keystream(nonce: bytes, length: int) -> bytes:
    key = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    out = b""
    counter = 0
    while len(out) < length:
        out += hmac.new(key, b"invitation-link|" + nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
        counter += 1
    return out[:length]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mail_state(delivery: Any) -> str:
    if getattr(delivery, "smtp_error", None):
        return "error"
    if getattr(delivery, "queued", False):
        return "queued"
    return "smtp" if getattr(delivery, "smtp_sent", False) else "outbox"


def _kept() -> dict[str, Any]:
    kept = session.get(SESSION_KEY)
    if not isinstance(kept, dict):
        return {}
    now = time.time()
    return {k: v for k, v in kept.items() if isinstance(v, dict) and float(v.get("u", 0)) > now}


def remember_link(invitation: Invitation, token: str, delivery: Any) -> None:
    nonce = secrets.token_bytes(16)
    raw = _unb64(token)
    sealed = bytes(a ^ b for a, b in zip(raw, _keystream(nonce, len(raw)), strict=True))
    kept = _kept()
    kept[str(invitation.id)] = {"n": _b64(nonce), "c": _b64(sealed), "m": _mail_state(delivery),
                                "u": time.time() + LINK_MINUTES * 60}
    newest = sorted(kept, key=lambda k: kept[k]["u"])[-MAX_KEPT:]
    session[SESSION_KEY] = {k: kept[k] for k in newest}


def shown_link(invitation: Invitation) -> ShownLink | None:
    """The link kept for its one-time display, if still kept, the invitation still open and the token
    still its own (the hash is checked)."""
    item = _kept().get(str(invitation.id))
    if item is None or invitation.state != "open" or not invitation.is_usable():
        return None
    try:
        nonce, sealed = _unb64(str(item["n"])), _unb64(str(item["c"]))
    except (KeyError, ValueError):
        return None
    token = _b64(bytes(a ^ b for a, b in zip(sealed, _keystream(nonce, len(sealed)), strict=True)))
    if not hmac.compare_digest(Invitation.hash_token(token), invitation.token_hash):
        return None
    return ShownLink(token, str(item.get("m", "outbox")), float(item["u"]))


def forget_link(invitation: Invitation) -> None:
    kept = _kept()
    if kept.pop(str(invitation.id), None) is not None or SESSION_KEY in session:
        session[SESSION_KEY] = kept
