"""The auditor held `legal.read`, which shows account data. The README says: audit log and settings only."""

from __future__ import annotations

from bastion.auth.roles import Role
from tests.security.conftest import login


def test_an_auditor_sees_the_audit_log_and_settings_but_no_account_data(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    auditor = live.client("198.51.100.70")
    login(auditor, user_factory(Role.AUDITOR), live.clock)
    assert auditor.get("/api/v1/audit").status_code == 200
    assert auditor.get("/api/v1/settings").status_code == 200
    for path in ("/api/v1/legal/requests", "/api/v1/legal/requests/1", "/api/v1/legal/agencies",
                 "/api/v1/cases", "/api/v1/scans"):
        assert auditor.get(path).status_code == 403, path
    assert auditor.get("/legal", headers={"Accept": "text/html"}).status_code == 403
