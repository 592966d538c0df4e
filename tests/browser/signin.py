"""Staff with a second factor, and signing them in through the real login pages.

Every browser test of a staff page needs both; one copy here keeps the login flow's selectors in one
place, so a change to the login page breaks one helper, not a dozen tests.
"""

from __future__ import annotations

import re
from typing import Any

import pyotp
from sqlalchemy.orm import Session

from bastion.auth import totp, users
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.clock import Clock
from tests.conftest import PASSWORD, SECRET


def staff_with_totp(session: Session, name: str, role: Role, totp_secret: str, clock: Clock, *,
                    email: str = "") -> User:
    """A staff user whose second factor is already enrolled with `totp_secret` (not committed)."""
    user = users.create_user(session, username=name, role=role, password=PASSWORD, email=email, actor="test",
                             clock=clock)
    user.totp_secret, user.totp_enabled = totp.encrypt_secret(totp_secret, SECRET.encode()), True
    return user


def sign_in(page: Any, url: str, name: str, totp_secret: str, *, lands_on: str = r"/$") -> None:
    """Password, then the current TOTP code, then wait for the page a signed-in user lands on."""
    page.goto(f"{url}/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/login/totp$"))
    page.fill("#code", pyotp.TOTP(totp_secret).now())
    page.click("#totp-submit")
    page.wait_for_url(re.compile(lands_on))
