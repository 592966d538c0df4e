"""HMA's own API tests (OpenMediaMatch's tests in facebook/ThreatExchange), rewritten to drive Bastion over HTTP.

Each test here restates one upstream test's intent in our words, against a Bastion
served on a loopback port and an HMA-style client (httpx with an API key). The
deployment is in strict HMA mode, since upstream asserts HMA's exact answers
(`{"signals": {"pdq": …}}` and nothing more). What differs by design:

- upstream fetches sample photos from GitHub; here synthetic images are served from
  loopback, and the PDQ each must yield is python-threatexchange's own hash of them;
- upstream builds its index by hand (`build_all_indices`); Bastion's is kept current,
  so nothing is built;
- upstream expects content ids from 1; Bastion's ids are whatever the database gives,
  so the ids an add returns are carried forward;
- URL checks that upstream makes on `is_valid_url` directly are made through `/h/hash`.

Upstream files: test_api.py, test_api_banks.py, test_e2e_workflow.py, test_match_api.py,
test_hashing.py, test_openapi_blueprint.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal

from tests.hma.conftest import MediaServer, Served, encode, photo, reference_pdq, serve_hma

FIRST, SECOND = encode(photo(101)), encode(photo(102), "JPEG", quality=90)


@pytest.fixture
def hma(settings, clock, engine, user_factory) -> Iterator[Served]:  # type: ignore[no-untyped-def]
    with serve_hma(settings, clock, engine, user_factory, hma_strict=True) as served:
        yield served


@pytest.fixture
def images() -> Iterator[tuple[str, str]]:
    """URLs of two benign synthetic photos (PNG and JPEG)."""
    with MediaServer(FIRST, "image/png") as first, MediaServer(SECOND, "image/jpeg") as second:
        yield first.url, second.url


PDQ_OF = {FIRST: reference_pdq(FIRST), SECOND: reference_pdq(SECOND)}


def new_bank(hma: Served, name: str) -> None:
    response = hma.client.post("/c/banks", json={"name": name})
    assert (response.status_code, response.json()) == (201, {"matching_enabled_ratio": 1.0, "name": name})


def bank_url(hma: Served, bank: str, url: str, image: bytes) -> int:
    """Bank the image at `url`; HMA answers 200 with the new id and exactly the PDQ HMA computes."""
    response = hma.client.post(f"/c/bank/{bank}/content", params={"url": url, "content_type": "photo"})
    assert response.status_code == 200, response.text
    content_id = response.json()["id"]
    assert isinstance(content_id, int)
    assert response.json() == {"id": content_id, "signals": {"pdq": PDQ_OF[image]}}
    return content_id


# -- test_api.py / test_api_banks.py ---------------------------------------------------------------


def test_status_says_alive(hma: Served) -> None:
    response = hma.client.get("/status")
    assert (response.status_code, response.content) == (200, b"I-AM-ALIVE")


def test_a_new_deployment_has_no_banks(hma: Served) -> None:
    response = hma.client.get("/c/banks")
    assert (response.status_code, response.json()) == (200, [])


def test_bank_names_are_checked_when_created(hma: Served) -> None:
    assert hma.client.post("/c/banks", json={"name": "01_TEST_BANK"}).status_code == 400  # leading digit
    assert hma.client.post("/c/banks", json={"name": "my_test_bank"}).status_code == 400  # lower case
    created = hma.client.post("/c/banks", json={"name": "MY_TEST_BANK_01"})
    assert (created.status_code, created.json()) == (201, {"matching_enabled_ratio": 1.0, "name": "MY_TEST_BANK_01"})
    assert hma.client.get("/c/banks").json() == [created.json()]


def test_a_bank_is_renamed_switched_off_and_given_a_ratio(hma: Served) -> None:
    new_bank(hma, "MY_TEST_BANK")
    assert hma.client.put("/c/bank/MY_TEST_BANK", json={"name": "1_invalid_name"}).status_code == 400
    renamed = hma.client.put("/c/bank/MY_TEST_BANK", json={"name": "MY_TEST_BANK_RENAMED"})
    assert (renamed.status_code, renamed.json()["name"]) == (200, "MY_TEST_BANK_RENAMED")
    off = hma.client.put("/c/bank/MY_TEST_BANK_RENAMED", json={"enabled": False})
    assert (off.status_code, off.json()["matching_enabled_ratio"]) == (200, 0)
    half = hma.client.put("/c/bank/MY_TEST_BANK_RENAMED", json={"enabled_ratio": 0.5})
    assert (half.status_code, half.json()["matching_enabled_ratio"]) == (200, 0.5)
    assert hma.client.get("/c/banks").json() == [{"name": "MY_TEST_BANK_RENAMED", "matching_enabled_ratio": 0.5}]


def test_deleting_a_bank_succeeds_even_the_second_time(hma: Served) -> None:
    new_bank(hma, "MY_TEST_BANK")
    assert hma.client.delete("/c/bank/MY_TEST_BANK").status_code == 200
    assert hma.client.delete("/c/bank/MY_TEST_BANK").status_code == 200
    assert hma.client.get("/c/banks").json() == []


def test_content_added_by_url_answers_hmas_hash(hma: Served, images: tuple[str, str]) -> None:
    new_bank(hma, "NEW_BANK")
    bank_url(hma, "NEW_BANK", images[0], FIRST)


def test_deleted_content_no_longer_matches(hma: Served, images: tuple[str, str]) -> None:
    new_bank(hma, "NEW_BANK")
    content_id = bank_url(hma, "NEW_BANK", images[0], FIRST)
    params = {"signal_type": "pdq", "signal": PDQ_OF[FIRST]}
    assert hma.client.get("/m/raw_lookup", params=params).json() == {"matches": [content_id]}
    deleted = hma.client.delete(f"/c/bank/NEW_BANK/content/{content_id}")
    assert (deleted.status_code, deleted.json()) == (200, {"deleted": 1})
    after = hma.client.get("/m/raw_lookup", params=params)
    assert (after.status_code, after.json()) == (200, {"matches": []})


def test_metadata_with_unknown_keys_is_refused(hma: Served, images: tuple[str, str]) -> None:
    new_bank(hma, "NEW_BANK")
    params = {"url": images[0], "content_type": "photo"}
    refused = hma.client.post("/c/bank/NEW_BANK/content", params=params, json={"metadata": {"invalid_metadata": 5}})
    assert refused.status_code == 400
    accepted = hma.client.post("/c/bank/NEW_BANK/content", params=params,
                               json={"metadata": {"content_id": "1197433091", "json": {"asdf": {}}}})
    assert accepted.status_code == 200, accepted.text
    stored = hma.client.get(f"/c/bank/NEW_BANK/content/{accepted.json()['id']}").json()
    assert stored["metadata"]["content_id"] == "1197433091" and stored["metadata"]["json"] == {"asdf": {}}


def test_each_banked_image_is_found_by_its_hash(hma: Served, images: tuple[str, str]) -> None:
    new_bank(hma, "NEW_BANK")
    new_bank(hma, "NEW_BANK_2")
    first = bank_url(hma, "NEW_BANK", images[0], FIRST)
    second = bank_url(hma, "NEW_BANK_2", images[1], SECOND)
    for image, content_id in ((FIRST, first), (SECOND, second)):
        found = hma.client.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": PDQ_OF[image]})
        assert (found.status_code, found.json()) == (200, {"matches": [content_id]})


def test_content_is_read_back_and_missing_content_is_404(hma: Served, images: tuple[str, str]) -> None:
    assert hma.client.get("/c/bank/TEST_BANK_GET/content/1").status_code == 404  # no such bank
    new_bank(hma, "TEST_BANK_GET")
    content_id = bank_url(hma, "TEST_BANK_GET", images[0], FIRST)
    got = hma.client.get(f"/c/bank/TEST_BANK_GET/content/{content_id}")
    assert (got.status_code, got.json()["id"]) == (200, content_id)
    assert "signals" not in got.json()
    with_signals = hma.client.get(f"/c/bank/TEST_BANK_GET/content/{content_id}", params={"include_signals": "true"})
    assert with_signals.json()["signals"] == {"pdq": PDQ_OF[FIRST]}
    assert hma.client.get(f"/c/bank/TEST_BANK_GET/content/{content_id + 1000}").status_code == 404


def test_content_is_disabled_until_a_time_within_five_years(hma: Served, images: tuple[str, str],  # type: ignore[no-untyped-def]
                                                            clock) -> None:
    new_bank(hma, "TEST_BANK_UPDATE")
    content_id = bank_url(hma, "TEST_BANK_UPDATE", images[0], FIRST)
    in_a_year = int((clock.now() + timedelta(days=365)).timestamp())
    updated = hma.client.put(f"/c/bank/TEST_BANK_UPDATE/content/{content_id}", json={"disable_until_ts": in_a_year})
    assert (updated.status_code, updated.json()["disable_until_ts"]) == (200, in_a_year)
    lookup = hma.client.get("/m/lookup", params={"signal_type": "pdq", "signal": PDQ_OF[FIRST]})
    assert lookup.json() == {}  # disabled content does not match
    too_far = hma.client.put(f"/c/bank/TEST_BANK_UPDATE/content/{content_id}", json={"disable_until_ts": 9999999999})
    assert too_far.status_code == 400


# -- test_match_api.py ------------------------------------------------------------------------------


def test_raw_lookups_of_every_signal_type(hma: Served) -> None:
    new_bank(hma, "SAMPLE")
    examples = {"pdq": PdqSignal.get_examples(), "video_md5": VideoMD5Signal.get_examples()}
    for name, values in examples.items():
        for value in values:
            assert hma.client.post("/c/bank/SAMPLE/signal", json={name: value}).status_code == 200
    assert hma.client.get("/status").status_code == 200
    for signal_type in hma.client.get("/c/signal_type").json():
        name = signal_type["name"]
        params = {"signal": examples[name][0], "signal_type": name}
        plain = hma.client.get("/m/raw_lookup", params=params)
        assert plain.status_code == 200 and len(plain.json()["matches"]) >= 1
        detailed = hma.client.get("/m/raw_lookup", params={**params, "include_distance": "true"})
        assert detailed.status_code == 200
        assert len(detailed.json()["matches"]) == len(plain.json()["matches"])
        for match in detailed.json()["matches"]:
            assert set(match) == {"bank_content_id", "distance"} and isinstance(match["distance"], str)


# -- test_e2e_workflow.py ---------------------------------------------------------------------------


def test_hashes_banked_directly_are_indexed_and_matched(hma: Served) -> None:
    new_bank(hma, "TEST_BANK")
    hashes = PdqSignal.get_examples()
    ids = []
    for value in hashes:
        added = hma.client.post("/c/bank/TEST_BANK/signal", json={"pdq": value})
        assert added.status_code == 200
        ids.append(added.json()["id"])
    built = hma.client.get("/m/index/status", params={"signal_type": "pdq"})
    assert built.status_code == 200
    assert built.json()["pdq"]["present"] is True and built.json()["pdq"]["size"] == len(hashes)
    hit = hma.client.get("/m/lookup", params={"signal_type": "pdq", "signal": hashes[-1]})
    assert (hit.status_code, hit.json()) == (200, {"TEST_BANK": [{"bank_content_id": ids[-1], "distance": "0"}]})
    miss = hma.client.get("/m/lookup", params={"signal_type": "pdq", "signal": "5" * 64})
    assert (miss.status_code, miss.json()) == (200, {})


# -- test_hashing.py (URL validation and size limits, through /h/hash) -------------------------------


@pytest.mark.parametrize("url", [
    "ftp://example.com", "file:///etc/passwd", "javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "ws://example.com", "wss://example.com",  # schemes
    "example.com", "//example.com", "http://", "https://", "",  # no scheme or no host
    "not a url", "http:///example.com", "http://example.com:", "http://example.com:abc",  # malformed
])
def test_urls_hma_refuses_are_refused(hma: Served, url: str) -> None:
    response = hma.client.get("/h/hash", params={"url": url})
    assert (response.status_code, response.json()) == (400, {"message": "Invalid or unsafe URL provided"})


def test_hosts_off_the_allow_list_are_refused(settings, clock, engine, user_factory,  # type: ignore[no-untyped-def]
                                              images: tuple[str, str]) -> None:
    with serve_hma(settings, clock, engine, user_factory, scan_url_allowed_hosts="localhost") as served:
        for url in (images[0], "https://evil.com/a.jpg", "https://example.com.evil.com/a.jpg"):
            response = served.client.get("/h/hash", params={"url": url})
            assert (response.status_code, response.json()) == (400, {"message": "Invalid or unsafe URL provided"})
        allowed = served.client.get("/h/hash", params={"url": images[0].replace("127.0.0.1", "localhost")})
        assert allowed.status_code == 200, allowed.text


def test_content_over_the_size_limit_is_413(settings, clock, engine, user_factory) -> None:  # type: ignore[no-untyped-def]
    small, large = encode(photo(7, size=64)), encode(photo(8, size=512))
    limit = len(small) + 1
    with serve_hma(settings, clock, engine, user_factory, media_max_bytes=limit) as served, \
            MediaServer(large, "image/jpeg") as big, MediaServer(small, "image/png") as fits:
        response = served.client.get("/h/hash", params={"url": big.url})
        assert (response.status_code, response.json()) == (413, {"message": "Content too large"})
        assert served.client.get("/h/hash", params={"url": fits.url}).status_code == 200


# -- test_openapi_blueprint.py ----------------------------------------------------------------------


def test_openapi_json_is_served_at_hmas_path(hma: Served) -> None:
    response = hma.client.get("/openapi/openapi.json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    spec = response.json()
    assert spec["openapi"].startswith("3.") and {"info", "paths", "components"} <= set(spec)
