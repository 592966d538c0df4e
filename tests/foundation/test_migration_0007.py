"""Migration 0007_auth: keys that existed before get an expiry and lose media and account-data scopes."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import text

from bastion.db import make_engine, migrate


def test_existing_keys_get_an_expiry_and_lose_sensitive_scopes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    migrate.upgrade(engine, "0006_merge_legal")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO users (id, username, email, role, password_hash, disabled, totp_secret, "
                                "totp_enabled, totp_last_step, failed_logins, created_at) VALUES (1, 'rev', '', "
                                "'reviewer', '', 0, '', 0, 0, 0, '2026-01-01 00:00:00')"))
        connection.execute(text("INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, created_at, "
                                "created_by, last_used_ip) VALUES (1, 1, 'old', 'abcd1234', 'x', "
                                "'cases.read media.view legal.read apikeys.manage', '2026-01-01 00:00:00', 'admin', '')"))
    migrate.upgrade(engine)
    with engine.connect() as connection:
        scopes, expires, step_up = connection.execute(text("SELECT scopes, expires_at, step_up FROM api_keys")).one()
    engine.dispose()
    assert scopes == "cases.read" and not step_up
    assert datetime.fromisoformat(str(expires)).replace(tzinfo=timezone.utc) > datetime.now(timezone.utc)
