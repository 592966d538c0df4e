"""Passwords: changing one's own, admin-started reset links by mail, and "forgot password".

Before the fix there was no way to change or reset a password at all.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from bastion.mail.models import MailMessage
from tests.security.conftest import PASSWORD, login

NEW = "a-brand-new-password-2"


def _link_token(sessions, user_id: int) -> str:  # type: ignore[no-untyped-def]
    from bastion.auth.models import PasswordReset

    with sessions() as db:
        mail = db.scalars(select(MailMessage).where(MailMessage.subject_ref == f"user:{user_id}")
                          .order_by(MailMessage.id.desc())).first()
        assert mail is not None, "no reset mail was queued"
        match = re.search(r"/password/reset\?token=([\w-]+)", mail.text_body)
        assert match
        assert db.scalar(select(PasswordReset.id).where(PasswordReset.token_hash == match.group(1))) is None
        return match.group(1)


def _actions(sessions) -> list[str]:  # type: ignore[no-untyped-def]
    with sessions() as db:
        return list(db.scalars(select(AuditRecord.action)))


def test_changing_ones_password_needs_both_proofs_and_ends_other_sessions(live, user_factory, sessions) -> None:  # type: ignore[no-untyped-def]
    user = user_factory(Role.REVIEWER)
    laptop, phone = live.client("198.51.100.90"), live.client("198.51.100.91")
    csrf = login(laptop, user, live.clock)
    login(phone, user, live.clock)

    wrong = laptop.post("/api/v1/account/password", headers=csrf, json={
        "current_password": "not-my-password", "new_password": NEW, "totp_code": user.code(live.clock)})
    assert wrong.status_code == 401
    no_code = laptop.post("/api/v1/account/password", headers=csrf,
                          json={"current_password": PASSWORD, "new_password": NEW})
    assert no_code.status_code == 401 and no_code.json()["code"] == "second_factor_required"
    changed = laptop.post("/api/v1/account/password", headers=csrf, json={
        "current_password": PASSWORD, "new_password": NEW, "totp_code": user.code(live.clock)})
    assert changed.status_code == 200, changed.text

    assert phone.get("/api/v1/me").status_code == 401  # the other session ended
    assert laptop.get("/api/v1/me").status_code == 200  # this one was replaced by a fresh one
    old = live.client().post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD,
                                                         "totp_code": user.code(live.clock)})
    assert old.status_code == 401
    new = live.client().post("/api/v1/auth/login", json={"username": user.username, "password": NEW,
                                                         "totp_code": user.code(live.clock)})
    assert new.status_code == 200
    assert "auth.password_changed" in _actions(sessions)


def test_an_admin_reset_link_is_mailed_single_use_short_lived_and_needs_the_second_factor(
    live, user_factory, sessions  # type: ignore[no-untyped-def]
) -> None:
    admin = live.client("192.0.2.30")
    csrf = login(admin, user_factory(Role.ADMIN), live.clock)
    user = user_factory(Role.LEGAL)
    with sessions() as db:
        from bastion.auth.models import User

        db.get(User, user.id).email = "legal.user@example.org"  # type: ignore[union-attr]
        db.commit()
    sent = admin.post(f"/api/v1/users/{user.id}/password-reset", headers=csrf)
    assert sent.status_code == 202 and "token" not in sent.text
    token = _link_token(sessions, user.id)

    holder = live.client("198.51.100.92")
    no_code = holder.post("/api/v1/auth/password-reset", json={"token": token, "new_password": NEW})
    assert no_code.status_code == 401  # a mailbox alone is not enough for a role that sees account data
    used = holder.post("/api/v1/auth/password-reset",
                       json={"token": token, "new_password": NEW, "totp_code": user.code(live.clock)})
    assert used.status_code == 200, used.text
    again = holder.post("/api/v1/auth/password-reset",
                        json={"token": token, "new_password": "yet-another-password-3", "totp_code": user.code(live.clock)})
    assert again.status_code == 400 and again.json()["code"] == "reset_link_invalid"

    admin.post(f"/api/v1/users/{user.id}/password-reset", headers=csrf)
    late = _link_token(sessions, user.id)
    live.clock.advance(timedelta(minutes=61))
    expired = holder.post("/api/v1/auth/password-reset",
                          json={"token": late, "new_password": "yet-another-password-3", "totp_code": user.code(live.clock)})
    assert expired.status_code == 400
    actions = _actions(sessions)
    assert "auth.password_reset_requested" in actions and "auth.password_reset" in actions


def test_forgot_password_answers_alike_and_sends_nothing_for_unproven_sensitive_roles(
    live, user_factory, sessions  # type: ignore[no-untyped-def]
) -> None:
    from bastion.auth.models import User

    auditor = user_factory(Role.AUDITOR, enrol=False)
    reviewer = user_factory(Role.REVIEWER, enrol=False)  # sees media, no second factor to prove
    with sessions() as db:
        db.get(User, auditor.id).email = "auditor@example.org"  # type: ignore[union-attr]
        db.get(User, reviewer.id).email = "reviewer@example.org"  # type: ignore[union-attr]
        db.commit()
    answers = set()
    for index, name in enumerate((auditor.username, reviewer.username, "nobody-here")):
        response = live.client(f"198.51.100.{100 + index}").post("/api/v1/auth/password-forgot",
                                                                 json={"username": name})
        assert response.status_code == 202
        answers.add(response.text)
    assert len(answers) == 1
    with sessions() as db:
        refs = set(db.scalars(select(MailMessage.subject_ref)))
    assert f"user:{auditor.id}" in refs and f"user:{reviewer.id}" not in refs

    flood = live.client("203.0.113.95")
    statuses = [flood.post("/api/v1/auth/password-forgot", json={"username": auditor.username}).status_code
                for _ in range(10)]
    assert 429 in statuses
