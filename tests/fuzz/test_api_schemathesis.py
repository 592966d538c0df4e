"""Schemathesis against Bastion's own OpenAPI description, over HTTP, with a key for each role.

Every operation gets generated requests (valid and invalid shapes) from a platform, a reviewer, a
legal officer, an auditor and an administrator; the rule is zero 5xx, whatever a role may or may
not do. CI runs a few examples per operation and role (`SCHEMATHESIS_EXAMPLES`, default 3);
`make fuzz` runs many more.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from bastion.auth.roles import Role
from tests.security.conftest import Live, api_key, live, login  # noqa: F401  (live: the fixture)

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "3"))
ROLES = [Role.PLATFORM, Role.REVIEWER, Role.LEGAL, Role.AUDITOR, Role.ADMIN]
#: Operations that end the caller's own access, which would turn the rest of the run into 401s.
SELF_ENDING = {("DELETE", "/api/v1/apikeys/{key_id}"), ("POST", "/api/v1/auth/logout")}
#: Probes whose 503 is an answer, not an error: HMA's `/status` says its index is not loaded yet (the first
#: call starts the load) or stale, which is what load balancers configured for HMA read. Only these bodies.
PROBE_ANSWERS = {("GET", "/status"): {"INDEX-NOT-LOADED", "INDEX-STALE"}}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The API's shapes, not the database: SQLite (the PostgreSQL door is covered by the attack suite)."""
    return sqlite_url


def _keys(live: Live, user_factory: Any) -> dict[Role, str]:
    admin = live.client("192.0.2.1")
    csrf = login(admin, user_factory(Role.ADMIN), live.clock)
    return {role: api_key(live, admin, csrf, user_factory(role).username) for role in ROLES}


def _probe(operation: Any, base_url: str, role: Role, headers: dict[str, str], failures: list[str]) -> None:
    """`EXAMPLES` generated requests to one operation as one role; 5xx answers are collected."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def probe(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        answers = PROBE_ANSWERS.get((case.method.upper(), case.formatted_path), set())
        if response.status_code == 503 and response.text.strip() in answers:
            return
        if response.status_code >= 500:
            failures.append(f"{role.value}: {case.method} {case.formatted_path} -> {response.status_code}: "
                            f"{response.text[:300]}")

    probe()


def test_no_operation_answers_5xx_for_any_role(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_dict(live.app.openapi())
    operations = [op.ok() for op in schema.get_all_operations()]
    operations = [op for op in operations if (op.method.upper(), op.path) not in SELF_ENDING]
    assert len(operations) > 50, "the OpenAPI description lost its operations"
    failures: list[str] = []
    for role, key in _keys(live, user_factory).items():
        for operation in operations:
            _probe(operation, live.url, role, {"Authorization": f"Bearer {key}"}, failures)
    assert not failures, "\n".join(sorted(set(failures))[:40])
