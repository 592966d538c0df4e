"""The role table keeps its promises: second factors where the data is sensitive, the README agrees."""

from __future__ import annotations

import re
from pathlib import Path

from bastion.auth.permissions import PERMISSIONS, SENSITIVE, SESSION_ONLY, Perm, grantable_scopes, held_by
from bastion.auth.principal import Principal
from bastion.auth.roles import MFA_REQUIRED, Role

README = Path(__file__).parents[2] / "README.md"


def test_every_role_that_reaches_media_or_account_data_must_prove_a_second_factor() -> None:
    for role in Role:
        if held_by(role) & SENSITIVE:
            assert role in MFA_REQUIRED, role


def test_the_auditor_oversees_the_audit_log_and_settings_and_sees_no_account_data() -> None:
    held = held_by(Role.AUDITOR)
    assert {Perm.AUDIT_READ, Perm.SETTINGS_READ} <= held
    assert not held & SENSITIVE and Perm.CASES_READ not in held and Perm.SCAN_READ not in held


def test_the_readme_lists_every_role_with_its_second_factor_rule() -> None:
    section = README.read_text().split("## Roles", 1)[1].split("\n## ", 1)[0]
    table = dict(re.findall(r"^\| `([a-z]+)` \|[^|]*\| ([^|]+) \|$", section, flags=re.M))
    assert set(table) == {r.value for r in Role}
    for role in MFA_REQUIRED:
        assert table[role.value].strip() == "required", role


def test_keys_never_carry_session_only_permissions_and_sensitive_ones_only_with_step_up() -> None:
    for role in Role:
        assert not grantable_scopes(role) & SESSION_ONLY
    everything = frozenset(PERMISSIONS)
    plain = Principal(user_id=1, username="r", role=Role.REVIEWER, via="apikey", scopes=everything)
    stepped = Principal(user_id=1, username="r", role=Role.REVIEWER, via="apikey", scopes=everything, step_up=True)
    assert not plain.can(Perm.MEDIA_VIEW) and stepped.can(Perm.MEDIA_VIEW)
    assert plain.can(Perm.CASES_READ)
    assert not stepped.can(Perm.ACCOUNT_MANAGE) and not stepped.can(Perm.APIKEYS_OWN)
    session = Principal(user_id=1, username="r", role=Role.REVIEWER, via="session")
    assert session.can(Perm.MEDIA_VIEW) and session.can(Perm.ACCOUNT_MANAGE)
