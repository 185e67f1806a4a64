"""Staff users: the one way to create one (admin page, `vendorrisk users create`, the demo)."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from ..domain.vocabulary import ROLES
from ..extensions import db
from ..models import Organisation, User
from . import audit

MIN_PASSWORD_LENGTH = 12


class UserRefused(ValueError):
    """The user cannot be created; the message is Japanese and says why."""


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt (werkzeug default)


def normalise_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively and without surrounding blanks."""
    return email.strip().lower()


def email_taken(email: str) -> bool:
    return db.session.scalar(select(User.id).filter_by(email=normalise_email(email))) is not None


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).filter_by(email=normalise_email(email)))


def create_user(org: Organisation, *, email: str, name: str, role: str, password: str,
                actor: audit.Actor) -> User:
    if role not in ROLES:
        raise UserRefused("役割を選んでください。")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserRefused(f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。")
    if email_taken(email):
        raise UserRefused("このメールアドレスはすでに登録されています。")
    user = User(organisation_id=org.id, email=normalise_email(email), name=name, role=role,
                password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, organisation_id=org.id, actor=actor, data={"role": role})
    return user


def record_login(user: User) -> None:
    audit.record("user.login", "user", user.id, organisation_id=user.organisation_id, actor=user)


def end_sessions(user: User) -> None:
    """Every session cookie issued to `user` so far stops working (logout, password change)."""
    user.session_epoch = (user.session_epoch or 0) + 1


def record_logout(user: User) -> None:
    end_sessions(user)
    audit.record("user.logout", "user", user.id, organisation_id=user.organisation_id, actor=user)


def change_password(user: User, current: str, new: str) -> bool:
    """Set a new password when `current` is right; every other session of the user ends."""
    from werkzeug.security import check_password_hash

    if not check_password_hash(user.password_hash, current):
        return False
    if len(new) < MIN_PASSWORD_LENGTH:
        raise UserRefused(f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。")
    user.password_hash = hash_password(new)
    end_sessions(user)  # other browsers and any stolen cookie are logged out
    audit.record("user.password_changed", "user", user.id, organisation_id=user.organisation_id, actor=user)
    return True
