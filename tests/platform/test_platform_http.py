"""HttpPlatformConnector against the demo platform over real HTTP (uvicorn thread)."""

from __future__ import annotations

import hashlib
import io
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from PIL import Image

from bastion.dev.platform import DemoControls
from bastion.platform import (
    HttpPlatformConnector,
    NotFoundOnPlatform,
    PlatformConnector,
    PlatformRejected,
    PlatformUnavailable,
    SigningAuth,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- reads ---------------------------------------------------------------------


def test_connector_satisfies_protocol(connector: HttpPlatformConnector) -> None:
    assert isinstance(connector, PlatformConnector)


def test_get_account(connector: HttpPlatformConnector) -> None:
    account = connector.get_account("acct-1001")
    assert (account.username, account.display_name, account.status) == (
        "alice",
        "Alice Example",
        "active",
    )
    assert account.created_at == utc("2023-06-01T08:00:00")


def test_get_content_and_media(connector: HttpPlatformConnector) -> None:
    content = connector.get_content("post-2002")
    assert content.account_id == "acct-1001"
    assert content.status == "visible"
    assert content.links == ("https://example.org/circles?ref=demo", "http://example.net/a")
    assert content.media_type == "image/jpeg"

    media = connector.fetch_media("post-2002")
    assert len(media) == content.media_size
    assert hashlib.sha256(media).hexdigest() == content.media_sha256
    with Image.open(io.BytesIO(media)) as image:
        assert image.format == "JPEG"
        assert image.size == (160, 160)


def test_text_only_content_has_no_media(connector: HttpPlatformConnector) -> None:
    content = connector.get_content("post-2005")
    assert content.media_url is None
    with pytest.raises(NotFoundOnPlatform):
        connector.fetch_media("post-2005")


# -- actions -------------------------------------------------------------------


def test_remove_content(connector: HttpPlatformConnector, base_url: str, now: datetime) -> None:
    receipt = connector.remove_content("post-2001", "hash_match", "takedown:c1:post-2001")
    assert (receipt.action, receipt.target_id, receipt.outcome, receipt.status) == (
        "remove_content",
        "post-2001",
        "applied",
        "removed",
    )
    assert receipt.performed_at == now
    assert not receipt.replayed
    assert connector.get_content("post-2001").status == "removed"
    # Evidence stays retrievable for Bastion after takedown ...
    assert connector.fetch_media("post-2001")
    # ... but the public no longer sees it.
    page = httpx.get(f"{base_url}/posts/post-2001")
    assert "data-testid='content-status'>removed<" in page.text
    assert httpx.get(f"{base_url}/posts/post-2001/image").status_code == 410


def test_removing_removed_content_is_no_change(connector: HttpPlatformConnector) -> None:
    connector.remove_content("post-2001", "hash_match", "k-1")
    again = connector.remove_content("post-2001", "hash_match", "k-2")
    assert (again.outcome, again.status, again.replayed) == ("no_change", "removed", False)


def test_suspend_account(connector: HttpPlatformConnector, base_url: str) -> None:
    receipt = connector.restrict_account("acct-1002", "suspend", "hash_match", "suspend:acct-1002")
    assert (receipt.action, receipt.outcome, receipt.status) == (
        "restrict_account",
        "applied",
        "suspended",
    )
    assert connector.get_account("acct-1002").status == "suspended"
    assert connector.subscriber_info("acct-1002").status == "suspended"
    page = httpx.get(f"{base_url}/accounts/acct-1002")
    assert "data-testid='account-status'>suspended<" in page.text
    assert "suspended-notice" in page.text
    # The suspended account's posts disappear from public view too.
    assert httpx.get(f"{base_url}/posts/post-2004/image").status_code == 410


def test_limit_then_suspend_never_downgrades(connector: HttpPlatformConnector) -> None:
    assert connector.restrict_account("acct-1003", "limit", "spam", "r-1").status == "limited"
    assert connector.restrict_account("acct-1003", "suspend", "csam", "r-2").status == "suspended"
    downgrade = connector.restrict_account("acct-1003", "limit", "spam", "r-3")
    assert (downgrade.outcome, downgrade.status) == ("no_change", "suspended")


def test_same_idempotency_key_is_applied_once(
    connector: HttpPlatformConnector, controls: DemoControls
) -> None:
    first = connector.remove_content("post-2003", "hash_match", "takedown:case-7:post-2003")
    second = connector.remove_content("post-2003", "hash_match", "takedown:case-7:post-2003")
    assert second.action_id == first.action_id
    assert second.outcome == "applied"  # the stored receipt, not a fresh "no_change"
    assert (first.replayed, second.replayed) == (False, True)

    actions = controls.received_actions()
    assert len(actions) == 1
    assert actions[0].kind == "remove_content"
    assert actions[0].target_id == "post-2003"
    assert actions[0].idempotency_key == "takedown:case-7:post-2003"
    assert actions[0].replay_count == 1


def test_restrict_same_key_recorded_once(
    connector: HttpPlatformConnector, controls: DemoControls
) -> None:
    for _ in range(3):
        connector.restrict_account("acct-1004", "suspend", "hash_match", "suspend:acct-1004")
    [action] = controls.received_actions()
    assert (action.kind, action.params, action.replay_count) == (
        "restrict_account",
        {"kind": "suspend", "reason": "hash_match"},
        2,
    )


def test_concurrent_retries_with_one_key_act_once(
    base_url: str, secret: str, clock: Callable[[], float], controls: DemoControls
) -> None:
    with HttpPlatformConnector(base_url, secret, clock=clock) as platform:

        def attempt(_: int) -> str:
            return platform.remove_content("post-2008", "hash_match", "takedown:race").action_id

        with ThreadPoolExecutor(max_workers=6) as pool:
            action_ids = set(pool.map(attempt, range(6)))
    assert len(action_ids) == 1
    [action] = controls.received_actions()
    assert action.replay_count == 5


def test_key_reused_for_different_request_is_rejected(
    connector: HttpPlatformConnector, controls: DemoControls
) -> None:
    connector.remove_content("post-2001", "hash_match", "shared-key")
    with pytest.raises(PlatformRejected) as info:
        connector.remove_content("post-2002", "hash_match", "shared-key")
    assert (info.value.status_code, info.value.code) == (409, "idempotency_key_reused")
    assert connector.get_content("post-2002").status == "visible"
    assert len(controls.received_actions()) == 1


def test_preserve_account(connector: HttpPlatformConnector, controls: DemoControls) -> None:
    snapshot = connector.preserve_account("acct-1001", "preserve:case-9:acct-1001")
    assert snapshot.subscriber.email == "alice@example.com"
    assert [p.content_id for p in snapshot.posts] == ["post-2001", "post-2002", "post-2003"]
    assert len(snapshot.logins) == 6
    assert {d.device_id for d in snapshot.devices} == {"dev-3001", "dev-3002"}
    assert len(snapshot.locations) == 3
    assert [h.content_id for h in snapshot.hosting] == ["post-2001", "post-2002", "post-2003"]

    again = connector.preserve_account("acct-1001", "preserve:case-9:acct-1001")
    assert again.preservation_id == snapshot.preservation_id
    assert again.replayed
    assert len(controls.received_actions()) == 1


# -- authentication ------------------------------------------------------------


def test_wrong_secret_is_rejected(
    base_url: str, clock: Callable[[], float], controls: DemoControls
) -> None:
    with HttpPlatformConnector(base_url, "not-the-secret", clock=clock) as impostor:
        with pytest.raises(PlatformRejected) as info:
            impostor.get_account("acct-1001")
        assert (info.value.status_code, info.value.code) == (401, "invalid_signature")
        with pytest.raises(PlatformRejected):
            impostor.remove_content("post-2001", "x", "k")
    assert controls.received_actions() == []


@pytest.mark.parametrize(("skew", "accepted"), [(-300, True), (-301, False), (301, False)])
def test_replay_window_over_http(
    base_url: str, secret: str, now: datetime, skew: int, accepted: bool
) -> None:
    signing_time = now.timestamp() + skew
    with HttpPlatformConnector(base_url, secret, clock=lambda: signing_time) as platform:
        if accepted:
            assert platform.get_account("acct-1001").username == "alice"
        else:
            with pytest.raises(PlatformRejected) as info:
                platform.get_account("acct-1001")
            assert (info.value.status_code, info.value.code) == (401, "stale_timestamp")


def test_unsigned_and_tampered_requests_get_json_401(
    base_url: str, secret: str, clock: Callable[[], float]
) -> None:
    unsigned = httpx.get(f"{base_url}/v1/accounts/acct-1001")
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "missing_signature"

    with httpx.Client(auth=SigningAuth(secret, clock=clock)) as client:
        response = client.get(f"{base_url}/v1/accounts/acct-1001/posts")
        assert response.status_code == 200
    # Replay the genuine signature headers with a widened date range.
    stolen = {k: v for k, v in response.request.headers.items() if k.startswith("x-bastion")}
    forged = httpx.Request(
        "GET", f"{base_url}/v1/accounts/acct-1001/posts?since=1970-01-01T00:00:00Z", headers=stolen
    )
    with httpx.Client() as plain:
        refused = plain.send(forged)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_signature"


def test_post_without_idempotency_key_is_refused(
    base_url: str, secret: str, clock: Callable[[], float]
) -> None:
    with httpx.Client(auth=SigningAuth(secret, clock=clock)) as client:
        response = client.post(
            f"{base_url}/v1/content/post-2001/removal", json={"reason": "hash_match"}
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"


# -- faults and transport errors -----------------------------------------------


def test_503_fault_then_retry_succeeds(
    connector: HttpPlatformConnector, controls: DemoControls
) -> None:
    controls.fail_next(2)
    for _ in range(2):
        with pytest.raises(PlatformUnavailable) as info:
            connector.remove_content("post-2001", "hash_match", "takedown:retry")
        assert info.value.status_code == 503
        assert info.value.retry_after == 1.0
    assert controls.received_actions() == []  # the platform never saw those

    receipt = connector.remove_content("post-2001", "hash_match", "takedown:retry")
    assert receipt.outcome == "applied"
    assert len(controls.received_actions()) == 1


def test_lost_response_retry_is_applied_once(
    connector: HttpPlatformConnector, controls: DemoControls
) -> None:
    """The platform acts but the 200 is lost; the retry must not act again."""
    controls.fail_next(1, after_processing=True)
    with pytest.raises(PlatformUnavailable):
        connector.restrict_account("acct-1001", "suspend", "hash_match", "suspend:lost")
    assert connector.get_account("acct-1001").status == "suspended"

    receipt = connector.restrict_account("acct-1001", "suspend", "hash_match", "suspend:lost")
    assert (receipt.outcome, receipt.replayed) == ("applied", True)
    [action] = controls.received_actions()
    assert action.replay_count == 1


def test_fault_switch_over_admin_api(
    base_url: str, secret: str, clock: Callable[[], float], connector: HttpPlatformConnector
) -> None:
    with httpx.Client(base_url=base_url, auth=SigningAuth(secret, clock=clock)) as admin:
        assert admin.post("/_demo/faults", json={"count": 1, "status": 502}).json() == {
            "pending": 1
        }
        with pytest.raises(PlatformUnavailable) as info:
            connector.get_account("acct-1001")
        assert info.value.status_code == 502
        assert connector.get_account("acct-1001").status == "active"

        connector.remove_content("post-2006", "hash_match", "k-admin")
        actions = admin.get("/_demo/actions").json()["items"]
        assert [(a["kind"], a["target_id"]) for a in actions] == [("remove_content", "post-2006")]
    assert httpx.get(f"{base_url}/_demo/actions").status_code == 401  # admin API is signed too


def test_connection_refused_is_unavailable(secret: str) -> None:
    with socket.socket() as sock:  # find a port, then close it so nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        HttpPlatformConnector(f"http://127.0.0.1:{port}", secret, timeout=5.0) as platform,
        pytest.raises(PlatformUnavailable) as info,
    ):
        platform.get_account("acct-1001")
    assert info.value.status_code is None


# -- not found -----------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.get_account("acct-missing"),
        lambda p: p.get_content("post-missing"),
        lambda p: p.fetch_media("post-missing"),
        lambda p: p.remove_content("post-missing", "hash_match", "k-nf-1"),
        lambda p: p.restrict_account("acct-missing", "suspend", "hash_match", "k-nf-2"),
        lambda p: p.subscriber_info("acct-missing"),
        lambda p: p.posts("acct-missing"),
        lambda p: p.ip_logins("acct-missing"),
        lambda p: p.devices("acct-missing"),
        lambda p: p.locations("acct-missing"),
        lambda p: p.hosting_details("post-missing"),
        lambda p: p.preserve_account("acct-missing", "k-nf-3"),
    ],
)
def test_unknown_ids_raise_not_found(
    connector: HttpPlatformConnector,
    controls: DemoControls,
    call: Callable[[HttpPlatformConnector], Any],
) -> None:
    with pytest.raises(NotFoundOnPlatform) as info:
        call(connector)
    assert (info.value.status_code, info.value.code) == (404, "not_found")
    assert "not found" in info.value.message
    assert info.value.request_id  # the platform's X-Request-Id, for support
    assert controls.received_actions() == []


# -- data collection -----------------------------------------------------------


def test_subscriber_info(connector: HttpPlatformConnector) -> None:
    info = connector.subscriber_info("acct-1003")
    assert (info.username, info.email, info.phone) == (
        "carol",
        "carol@example.org",
        "+1-202-555-0103",
    )
    assert str(info.registration_ip) == "2001:db8::1003"


def test_posts_within_range(connector: HttpPlatformConnector) -> None:
    everything = connector.posts("acct-1001")
    assert [p.content_id for p in everything] == ["post-2001", "post-2002", "post-2003"]
    assert everything[0].links == ("https://example.com/gallery/1",)
    assert everything[0].created_at == utc("2024-03-01T09:00:00")

    march_1_to_5 = connector.posts("acct-1001", utc("2024-03-01T00:00:00"), utc("2024-03-06"))
    assert [p.content_id for p in march_1_to_5] == ["post-2001", "post-2002"]


def test_range_is_half_open(connector: HttpPlatformConnector) -> None:
    post_2002_at = utc("2024-03-05T12:30:00")
    assert [p.content_id for p in connector.posts("acct-1001", since=post_2002_at)] == [
        "post-2002",
        "post-2003",
    ]
    assert [p.content_id for p in connector.posts("acct-1001", until=post_2002_at)] == ["post-2001"]


def test_ranges_accept_any_timezone(connector: HttpPlatformConnector) -> None:
    from datetime import timedelta, timezone

    berlin = timezone(timedelta(hours=1))
    since = datetime(2024, 3, 5, 13, 30, tzinfo=berlin)  # == 12:30Z
    assert [p.content_id for p in connector.posts("acct-1001", since=since)] == [
        "post-2002",
        "post-2003",
    ]


def test_ip_logins_within_range(connector: HttpPlatformConnector) -> None:
    logins = connector.ip_logins("acct-1001", utc("2024-03-05"), utc("2024-03-06"))
    assert [(str(e.ip), e.port, e.event) for e in logins] == [
        ("203.0.113.56", 40002, "failed_login"),
        ("2001:db8:85a3::8a2e:370:7334", 443, "login"),
    ]
    assert logins[0].timestamp == utc("2024-03-05T12:00:00")
    assert logins[0].user_agent == "DemoApp/3.2 (Android 14; Pixel 8)"
    assert len(connector.ip_logins("acct-1001")) == 6


def test_devices(connector: HttpPlatformConnector) -> None:
    devices = connector.devices("acct-1001")
    assert [(d.device_id, d.platform, d.model) for d in devices] == [
        ("dev-3001", "android", "Pixel 8"),
        ("dev-3002", "web", "Firefox on Linux"),
    ]
    assert connector.devices("acct-1003") == ()


def test_locations_within_range(connector: HttpPlatformConnector) -> None:
    locations = connector.locations("acct-1001", since=utc("2024-03-05"))
    assert [(loc.latitude, loc.longitude, loc.source) for loc in locations] == [
        (48.1371, 11.5754, "ip"),
        (52.5201, 13.4049, "gps"),
    ]


def test_hosting_details(connector: HttpPlatformConnector) -> None:
    content = connector.get_content("post-2001")
    hosting = connector.hosting_details("post-2001")
    assert (hosting.server_id, hosting.datacenter, hosting.region, hosting.cdn_node) == (
        "media-01",
        "fra-2",
        "eu-central",
        "cdn-fra-2-1",
    )
    assert content.media_sha256 and content.media_sha256 in hosting.storage_path


def test_pagination_is_followed(base_url: str, secret: str, clock: Callable[[], float]) -> None:
    with HttpPlatformConnector(base_url, secret, clock=clock, page_size=1) as platform:
        assert [p.content_id for p in platform.posts("acct-1001")] == [
            "post-2001",
            "post-2002",
            "post-2003",
        ]
        assert len(platform.ip_logins("acct-1001")) == 6


def test_invalid_range_is_rejected_locally(connector: HttpPlatformConnector) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        connector.posts("acct-1001", since=datetime(2024, 3, 1))
    with pytest.raises(ValueError, match="after"):
        connector.posts("acct-1001", since=utc("2024-03-02"), until=utc("2024-03-01"))
