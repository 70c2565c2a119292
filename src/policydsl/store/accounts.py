"""Officials' accounts (argon2id password hashes, roles) and API tokens for programs.

Roles: `admin` (accounts), `publisher` (publish batches, print letters), `reviewer` (read and answer objections),
`viewer` (read batch summaries and comparisons). An admin has every role; every official may view. Account changes are not part of the
decision record; each one is written to the (hash-chained) access log instead.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from . import models as m
from .access import log
from .canonical import sha256
from .ledger import now

ROLES = ("admin", "publisher", "reviewer", "viewer")
MIN_PASSWORD = 10
_HASHER = PasswordHasher()  # argon2id with the library's current recommended cost
_DUMMY = _HASHER.hash("a password nobody has")  # verified against for unknown names, so timing says nothing


class AccountError(Exception):
    """A user or token cannot be added or changed (name taken, weak password, unknown role); for users."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    display_name: str | None
    roles: frozenset[str]

    def can(self, role: str) -> bool:
        """Whether the user holds `role` (an admin holds them all; every official may view)."""
        return role in self.roles or "admin" in self.roles or (role == "viewer" and bool(self.roles))


def add_user(store, name: str, password: str, roles: list[str] | tuple[str, ...], display_name: str | None = None,
             by: str = "cli") -> User:
    """Create an account. Raises AccountError for a taken name, an unknown role or a short password."""
    name = name.strip()
    if not name or len(name) > 64 or any(ch.isspace() for ch in name):
        raise AccountError("a user name is 1–64 characters without spaces")
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise AccountError(f"unknown role(s) {', '.join(unknown) or '(none given)'}: choose from {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    try:
        with store.writing() as conn:
            user_id = conn.execute(insert(m.users).values(
                name=name, display_name=display_name, password_hash=_HASHER.hash(password),
                roles=",".join(sorted(set(roles))), active=True, created_at=now())).inserted_primary_key[0]
            log(conn, "cli" if by == "cli" else "official", by, "user.add", detail=f"{name} ({', '.join(roles)})")
    except Exception as exc:
        if isinstance(getattr(exc, "__cause__", None), IntegrityError) or isinstance(exc, IntegrityError):
            raise AccountError(f"there is already a user named '{name}'") from None
        raise
    return User(user_id, name, display_name, frozenset(roles))


def set_password(store, name: str, password: str, by: str = "cli") -> None:
    """Replace a user's password."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    with store.writing() as conn:
        done = conn.execute(update(m.users).where(m.users.c.name == name)
                            .values(password_hash=_HASHER.hash(password))).rowcount
        if not done:
            raise AccountError(f"there is no user named '{name}'")
        log(conn, "cli", by, "user.password", detail=name)


def disable_user(store, name: str, by: str = "cli") -> None:
    """Stop an account from signing in (its past actions stay in the access log under its name)."""
    with store.writing() as conn:
        done = conn.execute(update(m.users).where(m.users.c.name == name).values(active=False)).rowcount
        if not done:
            raise AccountError(f"there is no user named '{name}'")
        log(conn, "cli", by, "user.disable", detail=name)


def authenticate(store, name: str, password: str) -> User | None:
    """The user, if `name` and `password` match an active account (the same work is done when they do not)."""
    with store.reading() as conn:
        row = conn.execute(select(m.users).where(m.users.c.name == name, m.users.c.active.is_(True))).first()
    try:
        _HASHER.verify(row.password_hash if row else _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    return User(row.id, row.name, row.display_name, frozenset(row.roles.split(",")))


def get_user(store, user_id: int) -> User | None:
    with store.reading() as conn:
        row = conn.execute(select(m.users).where(m.users.c.id == user_id, m.users.c.active.is_(True))).first()
    return User(row.id, row.name, row.display_name, frozenset(row.roles.split(","))) if row else None


def list_users(store) -> list[User]:
    with store.reading() as conn:
        rows = conn.execute(select(m.users).order_by(m.users.c.name)).all()
    return [User(r.id, r.name, r.display_name, frozenset(r.roles.split(","))) for r in rows if r.active]


def add_token(store, name: str, by: str = "cli") -> str:
    """Create an API token named `name`; returns the token (shown once: only its hash is kept)."""
    token = "pdt_" + secrets.token_urlsafe(32)
    try:
        with store.writing() as conn:
            conn.execute(insert(m.api_tokens).values(name=name, token_hash=sha256(token), active=True,
                                                     created_at=now()))
            log(conn, "cli", by, "token.add", detail=name)
    except Exception as exc:
        if isinstance(getattr(exc, "__cause__", None), IntegrityError):
            raise AccountError(f"there is already a token named '{name}'") from None
        raise
    return token


def token_name(store, token: str) -> str | None:
    """The name of the active token `token`, else None (looked up by hash: the token itself is not stored)."""
    if not token.startswith("pdt_"):
        return None
    with store.reading() as conn:
        return conn.execute(select(m.api_tokens.c.name).where(m.api_tokens.c.token_hash == sha256(token),
                                                              m.api_tokens.c.active.is_(True))).scalar()
