"""Users, password hashes and API bearer tokens.

Tokens are random, shown once, and stored only as SHA-256: a stolen database cannot be used to
call the API. The prefix is kept in clear so a user can tell their tokens apart.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets

from flask import g, request
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from server import db
from server.errors import ApiError
from server.models import ApiToken, User, utcnow

log = logging.getLogger(__name__)

TOKEN_PREFIX = "cl_"


USERNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


class UserExists(ValueError):
    pass


class InvalidUsername(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, username: str, password: str | None = None) -> User:
    if not USERNAME.fullmatch(username):
        raise InvalidUsername(
            f"invalid user name {username!r}: 1-64 letters, digits, '_', '.' or '-', "
            "not starting with '.' or '-'"
        )
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise UserExists(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=generate_password_hash(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


def check_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def create_token(session: Session, user: User, name: str = "default") -> str:
    """Issue a token; the caller shows it once, it is never retrievable again."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), prefix=token[:10])
    )
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    row.last_used_at = utcnow()
    return row.user


def require_user() -> User:
    """The user behind this request's bearer token, or a 401 that says what is wrong."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send an API token as 'Authorization: Bearer <token>'")
    session = db.session()
    user = user_for_token(session, token.strip())
    if user is None:
        raise ApiError(401, "unauthorized", "the API token is unknown or revoked")
    session.commit()
    g.user = user
    return user


def current_user() -> User:
    return g.user
