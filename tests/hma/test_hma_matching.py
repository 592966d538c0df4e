"""/m and /h: hashing and lookups as an HMA client makes them, including altered copies."""

from __future__ import annotations

import random

from fastapi.testclient import TestClient
from PIL import Image

from bastion.auth.roles import Role
from bastion.matching.lookups import INDEX_LOAD
from tests.hma.conftest import MediaServer, encode, flat_image, make_key, photo

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
NEAR = "f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b22"  # 2 bits away
FAR = f"{int(PDQ, 16) ^ (2**256 - 1):064x}"  # every bit flipped


def _bank_photo(hma: TestClient, bank: str, image: bytes) -> int:
    hma.post("/c/banks", json={"name": bank})
    response = hma.post(f"/c/bank/{bank}/content", files={"photo": ("x.png", image, "image/png")})
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def test_lookup_exact_resized_and_rotated_uploads(hma: TestClient) -> None:
    original = photo(1)
    content_id = _bank_photo(hma, "KNOWN", encode(original))
    other_bank_id = _bank_photo(hma, "ELSEWHERE", encode(photo(2)))

    exact = hma.post("/m/lookup", files={"photo": ("x.png", encode(original))})
    assert exact.status_code == 200
    hit = [{"bank_content_id": content_id, "distance": "0"}]
    assert exact.json() == {"pdq": {"KNOWN": hit}, "md5": {"KNOWN": [{"bank_content_id": content_id, "distance": ""}]},
                            "sha1": {"KNOWN": [{"bank_content_id": content_id, "distance": ""}]},
                            "sha256": {"KNOWN": [{"bank_content_id": content_id, "distance": ""}]}}

    resized = hma.post("/m/lookup", files={"photo": ("x.jpg", encode(original.resize((300, 300)), "JPEG", quality=85))})
    body = resized.json()
    assert body["md5"] == {} and body["sha256"] == {}  # different bytes
    [match] = body["pdq"]["KNOWN"]
    assert match["bank_content_id"] == content_id and isinstance(match["distance"], str)
    assert 0 < int(match["distance"]) <= 31 and "ELSEWHERE" not in body["pdq"]

    rotated = encode(original.transpose(Image.Transpose.ROTATE_90))
    [turned] = hma.post("/m/lookup", files={"photo": ("r.png", rotated)}).json()["pdq"]["KNOWN"]
    assert turned["bank_content_id"] == content_id and int(turned["distance"]) <= 31
    unrotated_pdq = hma.post("/h/hash", files={"photo": ("r.png", rotated)}).json()["pdq"]
    assert hma.get("/m/raw_lookup", params={"signal": unrotated_pdq, "signal_type": "pdq"}).json() == {"matches": []}

    only_pdq = hma.post("/m/lookup", params={"types": "pdq", "banks": "ELSEWHERE"},
                        files={"photo": ("x.png", encode(original))})
    assert only_pdq.json() == {"pdq": {}}
    unrelated = hma.post("/m/lookup", files={"photo": ("y.png", encode(photo(3)))}).json()
    assert unrelated == {"pdq": {}, "md5": {}, "sha1": {}, "sha256": {}}
    assert other_bank_id != content_id


def test_lookup_and_raw_lookup_by_signal(hma: TestClient) -> None:
    hma.post("/c/banks", json={"name": "A"})
    hma.post("/c/banks", json={"name": "B"})
    a = hma.post("/c/bank/A/signal", json={"pdq": PDQ}).json()["id"]
    b = hma.post("/c/bank/B/signal", json={"pdq": NEAR}).json()["id"]

    flat = hma.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq"}).json()
    assert flat == {"A": [{"bank_content_id": a, "distance": "0"}], "B": [{"bank_content_id": b, "distance": "2"}]}
    assert hma.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq", "banks": "B,NOPE"}).json() == {
        "B": [{"bank_content_id": b, "distance": "2"}]}
    assert hma.get("/m/lookup", params={"signal": FAR, "signal_type": "pdq"}).json() == {}

    raw = hma.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq"})
    assert raw.json() == {"matches": [a, b]}
    with_distance = hma.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq", "include_distance": "YES"})
    assert with_distance.json() == {"matches": [{"bank_content_id": a, "distance": "0"},
                                                {"bank_content_id": b, "distance": "2"}]}
    assert hma.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq", "banks": "B"}).json() == {
        "matches": [b]}
    assert hma.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq", "banks": "NOPE"}).json() == {
        "matches": []}

    hma.delete("/c/bank/B")  # its content goes with it
    assert hma.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq"}).json() == {"matches": [a]}
    assert list(hma.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq"}).json()) == ["A"]

    missing = hma.get("/m/raw_lookup", params={"signal_type": "pdq"})
    assert missing.status_code == 422
    [error] = missing.json()
    assert error["loc"] == ["signal"] and error["type"] == "missing" and error["msg"] == "Field required"
    assert hma.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq", "include_distance": "maybe"}
                   ).status_code == 422
    for params, message in (
        ({"signal": PDQ, "signal_type": "tmk"}, "No such SignalType 'tmk'"),
        ({"signal": PDQ.upper(), "signal_type": "pdq"}, "invalid signal: invalid PDQ hash"),
        ({"signal": "abc", "signal_type": "md5"}, "invalid signal: 'abc' is not a valid MD5 hash"),
    ):
        for path in ("/m/raw_lookup", "/m/lookup"):
            response = hma.get(path, params=params)
            assert (response.status_code, response.json()) == (400, {"message": message}), (path, params)
    for params in ({}, {"signal": PDQ}, {"signal_type": "pdq"}):
        response = hma.get("/m/lookup", params=params)
        assert response.json() == {"message": "Either url or both signal and signal_type are required"}
    assert hma.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq", "bypass_coinflip": "maybe"}
                   ).status_code == 422


def test_coinflip_and_bank_ratio(hma: TestClient) -> None:
    hma.post("/c/banks", json={"name": "HALF", "enabled_ratio": 0.5})
    hma.post("/c/banks", json={"name": "NEVER", "enabled_ratio": 0.0})
    image = encode(photo(4))
    half = hma.post("/c/bank/HALF/content", files={"photo": ("x.png", image)}).json()["id"]
    never = hma.post("/c/bank/NEVER/content", files={"photo": ("x.png", image)}).json()["id"]
    pdq = hma.post("/h/hash", params={"types": "pdq"}, files={"photo": ("x.png", image)}).json()["pdq"]

    kept, dropped = None, None
    for seed in (str(n) for n in range(50)):
        flip = random.Random(seed).random()
        if flip <= 0.5 and kept is None:
            kept = seed
        if flip > 0.5 and dropped is None:
            dropped = seed
    params = {"signal": pdq, "signal_type": "pdq"}
    assert hma.get("/m/lookup", params={**params, "seed": kept}).json() == {
        "HALF": [{"bank_content_id": half, "distance": "0"}]}
    assert hma.get("/m/lookup", params={**params, "seed": dropped}).json() == {}
    assert hma.get("/m/lookup", params={**params, "seed": kept, "bypass_coinflip": "true"}).json() == {
        "HALF": [{"bank_content_id": half, "distance": "0"}]}  # GET ignores bypass_coinflip
    bypassed = hma.post("/m/lookup", params={"bypass_coinflip": "true", "types": "pdq"},
                        files={"photo": ("x.png", image)}).json()
    assert bypassed == {"pdq": {"HALF": [{"bank_content_id": half, "distance": "0"}],
                                "NEVER": [{"bank_content_id": never, "distance": "0"}]}}
    assert hma.post("/m/lookup", params={"bypass_coinflip": "True", "types": "pdq", "seed": dropped},
                    files={"photo": ("x.png", image)}).json() == {"pdq": {}}  # only exactly "true"
    assert hma.get("/m/raw_lookup", params=params).json() == {"matches": [half, never]}  # ratios not applied


def test_upload_errors_and_low_quality(hma: TestClient) -> None:
    image = encode(photo(5))
    for kwargs, message in (
        ({}, "Missing multipart/form-data file upload"),
        ({"data": {"note": "no file"}}, "Missing multipart/form-data file upload"),
        ({"files": [("photo", ("a.png", image)), ("photo", ("b.png", image))]}, "Only one file allowed per request"),
        ({"files": [("photo", ("a.png", image)), ("video", ("b.mp4", b"v"))]}, "Only one file allowed per request"),
        ({"files": {"audio": ("a.wav", b"RIFF")}}, "no such content_type: 'audio'"),
        ({"files": {"photo": ("a.png", image)}, "params": {"types": "pdq,tmk"}},
         "signal type 'tmk' doesn't exist or is disabled"),
        ({"files": {"photo": ("a.png", image)}, "params": {"types": "video_md5"}},
         "signal type 'video_md5' doesn't exist or is disabled"),
        ({"files": {"photo": ("a.png", image)}, "params": {"types": " , "}}, "empty signal type selection"),
    ):
        for path in ("/h/hash", "/m/lookup"):
            response = hma.post(path, **kwargs)
            assert (response.status_code, response.json()) == (400, {"message": message}), (path, message)

    low = hma.post("/h/hash", files={"photo": ("flat.png", flat_image())}).json()
    assert low["pdq"] == "" and len(low["md5"]) == 32
    refused = hma.post("/m/lookup", files={"photo": ("flat.png", flat_image())})
    assert (refused.status_code, refused.json()) == (400, {"message": "invalid signal: invalid PDQ hash"})
    assert hma.post("/m/lookup", params={"types": "md5"}, files={"photo": ("flat.png", flat_image())}
                    ).json() == {"md5": {}}
    assert hma.post("/h/hash", params={"types": "sha1"}, files={"photo": ("a.png", image)}).json().keys() == {"sha1"}
    not_image = hma.post("/h/hash", files={"photo": ("a.png", b"definitely not an image")})
    assert not_image.status_code in (415, 422) and "message" in not_image.json()


def test_compare(hma: TestClient) -> None:
    assert hma.post("/m/compare", json={"pdq": [PDQ, NEAR]}).json() == {"pdq": [True, {"distance": 2}]}
    far = hma.post("/m/compare", json={"pdq": [PDQ, FAR]}).json()["pdq"]
    assert far[0] is False and far[1]["distance"] > 31
    assert hma.post("/m/compare", json={"md5": ["A" * 32, "a" * 32]}).json() == {"md5": [True, {}]}
    assert hma.post("/m/compare", json={}).json() == {}
    for body, message in (
        ([PDQ, PDQ], "Request input was not a dict"),
        ({"pdq": PDQ}, "Comparison hashes for pdq was not a list"),
        ({"pdq": [PDQ]}, "Comparison hash list length must be exactly 2"),
        ({"tmk": [PDQ, PDQ]}, "No such SignalType 'tmk'"),
        ({"pdq": [PDQ, "beef"]}, "Invalid pdq hash: invalid PDQ hash"),
    ):
        response = hma.post("/m/compare", json=body)
        assert (response.status_code, response.json()) == (400, {"message": message})
    assert hma.post("/m/compare", content=b"{}", headers={"Content-Type": "text/plain"}).status_code == 415


def test_index_status(hma: TestClient, app) -> None:  # type: ignore[no-untyped-def]
    status = hma.get("/m/index/status").json()
    assert status["pdq"] == {"built_to": -1, "present": True, "size": 0}
    assert status["video_md5"] == {"built_to": -1, "present": True, "size": 0}
    hma.post("/c/banks", json={"name": "BANK"})
    hma.post("/c/bank/BANK/signal", json={"pdq": PDQ})
    hma.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq"})
    pdq = hma.get("/m/index/status", params={"signal_type": "pdq"}).json()
    clock_now = int(app.state.bastion.clock.now().timestamp())
    assert pdq == {"pdq": {"built_to": clock_now, "present": True, "size": 1}}
    bad = hma.get("/m/index/status", params={"signal_type": "tmk"})
    assert (bad.status_code, bad.json()) == (400, {"message": "No such signal type 'tmk'"})


def test_index_not_ready_is_503(app, user_factory, clock) -> None:  # type: ignore[no-untyped-def]
    key = make_key(app, user_factory, clock)
    hma = TestClient(app, headers={"X-API-Key": key})
    assert hma.get("/m/index/status").json()["pdq"] == {"built_to": -1, "present": False, "size": 0}
    params = {"signal": PDQ, "signal_type": "pdq"}
    first = hma.get("/m/raw_lookup", params=params)
    assert (first.status_code, first.json()) == (503, {"message": "index not yet ready"})
    assert hma.get("/m/raw_lookup", params={"signal": "0" * 32, "signal_type": "md5"}).status_code == 200
    app.state.bastion.services[INDEX_LOAD].join(timeout=30)  # the first request started loading it
    assert hma.get("/m/raw_lookup", params=params).json() == {"matches": []}


def test_url_hashing_and_lookup(app, user_factory, clock, settings) -> None:  # type: ignore[no-untyped-def]
    """Fetching from loopback is refused; allowed here by listing 127.0.0.0/8 as a permitted network."""
    from bastion.web.app import create_app

    key = make_key(app, user_factory, clock)
    open_app = create_app(settings.model_copy(update={"scan_url_allowed_networks": "127.0.0.0/8"}), clock=clock,
                          engine=app.state.bastion.engine)
    open_app.state.bastion.matcher.load()
    hma = TestClient(open_app, headers={"Authorization": f"Bearer {key}"})
    image = encode(photo(7))
    with MediaServer(image, "image/png") as server:
        hashed = hma.get("/h/hash", params={"url": server.url})
        assert hashed.status_code == 200
        assert hashed.json() == hma.post("/h/hash", files={"photo": ("x.png", image)}).json()
        content_id = _bank_photo(hma, "URLS", image)
        grouped = hma.get("/m/lookup", params={"url": server.url, "types": "pdq,md5"}).json()
        assert grouped == {"pdq": {"URLS": [{"bank_content_id": content_id, "distance": "0"}]},
                           "md5": {"URLS": [{"bank_content_id": content_id, "distance": ""}]}}
        flattened = hma.get("/m/lookup", params={"url": server.url, "signal_type": "pdq"}).json()
        assert flattened == {"URLS": [{"bank_content_id": content_id, "distance": "0"}]}
        assert hma.get("/m/lookup", params={"url": server.url, "signal_type": "tmk"}).json() == {}
        by_url = hma.post("/c/bank/URLS/content", params={"url": server.url, "types": "sha256"},
                          json={"metadata": {"content_uri": server.url}, "note": "from a URL"})
        assert by_url.status_code == 200 and list(by_url.json()["signals"]) == ["sha256"]
        assert by_url.json()["id"] == content_id  # the same bytes: Bastion returns the entry already banked
        video = hma.get("/h/hash", params={"url": server.url, "content_type": "video", "types": "video_md5"}).json()
        assert list(video) == ["video_md5"]  # (the bytes are a PNG: vPDQ, the other video type, would refuse them)
        assert hma.get("/h/hash", params={"url": server.url, "content_type": "audio"}).json() == {
            "message": "no such content_type: 'audio'"}
        server.content_type = "application/octet-stream"
        unknown = hma.get("/h/hash", params={"url": server.url}).json()["message"]
        assert unknown.startswith("unsupported url ContentType: 'application/octet-stream'")
        fetched = server.requests
    assert fetched == 7


def test_loopback_urls_are_refused_unfetched(hma: TestClient, media_server: MediaServer) -> None:
    hma.post("/c/banks", json={"name": "BANK"})
    unsafe = {"message": "Invalid or unsafe URL provided"}
    for url in (media_server.url, media_server.url.replace("127.0.0.1", "localhost"), "ftp://example.org/x.png",
                "http:///nohost"):
        for method, path in (("GET", "/m/lookup"), ("GET", "/h/hash"), ("POST", "/c/bank/BANK/content")):
            response = hma.request(method, path, params={"url": url})
            assert (response.status_code, response.json()) == (400, unsafe), (method, path, url)
    assert media_server.requests == 0
    missing = hma.get("/h/hash")
    assert missing.status_code == 422 and missing.json()[0]["loc"] == ["url"]


def test_permissions(app, user_factory, clock) -> None:  # type: ignore[no-untyped-def]
    anonymous = TestClient(app)
    refused = anonymous.get("/c/banks")
    assert refused.status_code == 401 and set(refused.json()) == {"message"}
    assert anonymous.get("/m/raw_lookup").status_code == 401  # authentication before validation

    lookup_only = make_key(app, user_factory, clock, scopes=["match.lookup"])
    limited = TestClient(app, headers={"X-API-Key": lookup_only})
    assert limited.get("/m/lookup", params={"signal": "0" * 32, "signal_type": "md5"}).json() == {}
    no_hashing = limited.post("/m/lookup", files={"photo": ("x.png", encode(photo(1)))})
    assert (no_hashing.status_code, no_hashing.json()) == (403, {"message": "Hashing is disabled, missing role"})
    assert limited.post("/c/banks", json={"name": "X"}).status_code == 403
    assert limited.post("/h/hash", files={"photo": ("x.png", b"")}).status_code == 403

    auditor = make_key(app, user_factory, clock, role=Role.AUDITOR)
    reader = TestClient(app, headers={"X-API-Key": auditor})
    assert reader.get("/c/banks").status_code == 200
    assert reader.post("/c/banks", json={"name": "X"}).status_code == 403
    assert reader.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq"}).status_code == 403
