"""User accounts: create, list, change role, disable. Every change is audited."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth.models import User
from bastion.auth.passwords import hash_password
from bastion.auth.roles import MACHINE_ROLES, Role
from bastion.auth.sessions import end_all_sessions
from bastion.clock import Clock
from bastion.errors import Conflict, InvalidInput, NotFound


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InvalidInput(f"Unknown role {value!r}; choose one of: {names}.") from None


def create_user(
    session: Session, *, username: str, role: Role, password: str | None, email: str, actor: str, clock: Clock
) -> User:
    """Create a user. Machine roles get no password: they authenticate with API keys only."""
    username = username.strip()
    if not username or len(username) > 150:
        raise InvalidInput("A username is required (at most 150 characters).")
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise Conflict(f"A user named {username!r} already exists.")
    if role not in MACHINE_ROLES and not password:
        raise InvalidInput("A password is required for people; machine clients (role platform) use API keys.")
    user = User(
        username=username,
        email=email,
        role=role.value,
        password_hash=hash_password(password) if password and role not in MACHINE_ROLES else "",
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.create", subject=f"user:{user.id}",
                 details={"username": username, "role": role.value}, clock=clock)
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def acting_user(session: Session, user_id: int) -> User:
    """The user row behind an authenticated principal (who must still exist)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Your account no longer exists; log in again.")
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def require_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def set_role(session: Session, user: User, role: Role, *, actor: str, clock: Clock) -> None:
    """Change a user's role; their web sessions end so the new role applies at once."""
    old = user.role
    if old == role.value:
        return
    user.role = role.value
    end_all_sessions(session, user.id)
    audit.record(session, actor=actor, action="user.set_role", subject=f"user:{user.id}",
                 details={"username": user.username, "from": old, "to": role.value}, clock=clock)


def set_disabled(session: Session, user: User, disabled: bool, *, actor: str, clock: Clock) -> None:
    """Disable or re-enable a user; disabling ends their sessions and blocks their API keys."""
    if user.disabled == disabled:
        return
    user.disabled = disabled
    if disabled:
        end_all_sessions(session, user.id)
    audit.record(session, actor=actor, action="user.disable" if disabled else "user.enable",
                 subject=f"user:{user.id}", details={"username": user.username}, clock=clock)


def reset_second_factor(session: Session, user: User, *, actor: str, clock: Clock) -> None:
    user.totp_secret, user.totp_enabled, user.totp_last_step = "", False, 0
    audit.record(session, actor=actor, action="user.reset_totp", subject=f"user:{user.id}",
                 details={"username": user.username}, clock=clock)


def admin_exists(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.role == Role.ADMIN.value).limit(1)) is not None
