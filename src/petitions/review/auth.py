"""Accounts, sessions, CSRF tokens and login throttling for the review app.

Passwords are hashed with Argon2id (memory-hard). A session is a random token in an
HttpOnly, SameSite=Strict cookie; the database keeps only its SHA-256, with the session's
CSRF token, which every form carries back.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..errors import PetitionsError
from ..store import LoginFailure, User, WebSession

ROLES = ("clerk", "supervisor", "admin")
RANK = {r: i for i, r in enumerate(ROLES)}
_HASHER = PasswordHasher()
# Verifying against this when the user does not exist takes as long as a real check, so
# response times do not tell which user names exist.
_DUMMY = _HASHER.hash("not a password")


class AccountError(PetitionsError):
    exit_code = 2


def add_user(s: Session, name: str, role: str, password: str) -> User:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    if len(password) < 10:
        raise AccountError("The password must have at least 10 characters.")
    if not name or not name.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise AccountError("A user name is letters, digits, '.', '_' or '-'.")
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, role=role, password_hash=_HASHER.hash(password), active=True)
        s.add(user)
    else:
        user.role, user.password_hash, user.active = role, _HASHER.hash(password), True
    s.flush()
    return user


def now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)  # SQLite returns naive datetimes


def throttled(s: Session, name: str, max_failures: int, window: timedelta) -> bool:
    since = now() - window
    n = s.scalar(select(func.count()).select_from(LoginFailure).where(LoginFailure.name == name, LoginFailure.at >= since))
    return n >= max_failures


def check_login(s: Session, name: str, password: str) -> User | None:
    """The user, if the name and password are right and the account active; else None and
    the failure is counted."""
    user = s.scalar(select(User).where(User.name == name))
    try:
        ok = _HASHER.verify(user.password_hash if user else _DUMMY, password) and user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        s.add(LoginFailure(name=name[:64]))
        return None
    s.execute(delete(LoginFailure).where(LoginFailure.name == name))
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(s: Session, user: User, hours: float) -> str:
    token = secrets.token_urlsafe(32)
    s.add(WebSession(token_hash=_digest(token), user_id=user.id, csrf=secrets.token_urlsafe(32),
                     expires_at=now() + timedelta(hours=hours)))
    s.execute(delete(WebSession).where(WebSession.expires_at < now()))
    return token


def find_session(s: Session, token: str | None) -> WebSession | None:
    if not token:
        return None
    ws = s.get(WebSession, _digest(token))
    if ws is None or _aware(ws.expires_at) < now() or not ws.user.active:
        return None
    return ws


def close_session(s: Session, token: str | None) -> None:
    if token:
        s.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))


def csrf_ok_token(expected: str | None, sent) -> bool:
    return bool(expected) and isinstance(sent, str) and bool(sent) and secrets.compare_digest(expected, sent)
