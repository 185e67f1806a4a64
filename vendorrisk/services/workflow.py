"""Compatibility facade: the use cases now live in their own modules (definitions, vendors,
engagements, invitations, answers, review). Kept for services/annexes.py and tests owned
elsewhere that still import `workflow`; new code imports the module it needs."""

from __future__ import annotations

from ..domain.vocabulary import canonical_sha256
from ..models import utcnow
from .answers import missing_required, save_answers, score_response, submit_response, visible_ids, visible_questions
from .definitions import current_definitions, invitation_questionnaires, store_version
from .engagements import create_engagement
from .invitations import (
    NotFound,
    SentInvitation,
    deliver_mail,
    invitation_for_token,
    portal_link,
    revoke_invitation,
    send_invitation,
)
from .review import decide, latest_assessment
from .vendors import create_vendor

__all__ = [
    "NotFound", "SentInvitation", "canonical_sha256", "create_engagement", "create_vendor", "current_definitions",
    "decide", "deliver_mail", "invitation_for_token", "invitation_questionnaires", "latest_assessment",
    "missing_required", "portal_link", "revoke_invitation", "save_answers", "score_response", "send_invitation",
    "store_version", "submit_response", "utcnow", "visible_ids", "visible_questions",
]
