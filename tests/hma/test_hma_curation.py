"""/c: banks, bank content and configuration, as an HMA client drives them."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit.models import AuditRecord
from bastion.clock import ManualClock
from tests.hma.conftest import encode, flat_image, photo

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def test_bank_lifecycle(hma: TestClient) -> None:
    created = hma.post("/c/banks", json={"name": "MY_BANK"})
    assert created.status_code == 201 and created.json() == {"matching_enabled_ratio": 1.0, "name": "MY_BANK"}
    assert created.text == '{"matching_enabled_ratio":1.0,"name":"MY_BANK"}'  # Flask sorts keys

    duplicate = hma.post("/c/banks", json={"name": "MY_BANK"})
    assert (duplicate.status_code, duplicate.json()) == (403, {"message": "Bank already exists"})
    for bad in ("lower", "1ST", "HAS-DASH", "X" * 256):
        response = hma.post("/c/banks", json={"name": bad})
        assert (response.status_code, response.json()) == (400, {"message": "Bank names must be UPPER_WITH_UNDERSCORE"})
    missing = hma.post("/c/banks", json={"enabled_ratio": 0.5})
    assert missing.status_code == 422
    assert isinstance(missing.json(), list) and missing.json()[0]["loc"] == ["name"]
    assert missing.json()[0]["type"] == "missing"
    assert hma.post("/c/banks", json={"name": "R", "enabled_ratio": "lots"}).status_code == 422
    assert hma.post("/c/banks", content=b"name=X", headers={"Content-Type": "text/plain"}).status_code == 415

    # the upstream quirk: `enabled` counts only when enabled_ratio is sent as null
    assert hma.post("/c/banks", json={"name": "QUIRK", "enabled": False}).json()["matching_enabled_ratio"] == 1.0
    off = hma.post("/c/banks", json={"name": "OFF", "enabled": False, "enabled_ratio": None})
    assert off.json()["matching_enabled_ratio"] == 0.0

    assert [b["name"] for b in hma.get("/c/banks").json()] == ["MY_BANK", "QUIRK", "OFF"]
    assert hma.get("/c/bank/MY_BANK").json() == {"matching_enabled_ratio": 1.0, "name": "MY_BANK"}
    unknown = hma.get("/c/bank/NOPE")
    assert (unknown.status_code, unknown.json()) == (404, {"message": "bank 'NOPE' not found"})
    assert hma.get("/c/bank/my_bank").status_code == 404  # names are case-sensitive

    renamed = hma.put("/c/bank/MY_BANK", json={"name": "RENAMED", "enabled": False})
    assert renamed.status_code == 200 and renamed.json() == {"matching_enabled_ratio": 0.0, "name": "RENAMED"}
    both = hma.put("/c/bank/RENAMED", json={"enabled": False, "enabled_ratio": 0.25})  # the ratio wins
    assert both.json()["matching_enabled_ratio"] == 0.25
    assert hma.put("/c/bank/MY_BANK", json={}).json() == {"message": "Bank not found"}
    collision = hma.put("/c/bank/RENAMED", json={"name": "QUIRK"})
    assert (collision.status_code, collision.json()) == (403, {"message": "Bank name already exists"})
    assert hma.put("/c/bank/RENAMED", json={"name": "bad name"}).status_code == 400
    assert hma.put("/c/bank/RENAMED", json={"enabled": "perhaps"}).status_code == 422

    assert hma.delete("/c/bank/RENAMED").json() == {"message": "Done"}
    assert hma.delete("/c/bank/NEVER_WAS").json() == {"message": "Done"}
    assert hma.get("/c/bank/RENAMED").status_code == 404
    assert hma.post("/c/banks", json={"name": "RENAMED"}).status_code == 201  # the name is free again


def test_add_content_by_upload_and_by_signal(hma: TestClient, db: Session) -> None:
    hma.post("/c/banks", json={"name": "BANK"})
    image = encode(photo(1))
    metadata = {"content_id": "c-1", "json": {"case": 42}, "collab": {"dropped": ["x"]}}
    added = hma.post("/c/bank/BANK/content", files={"photo": ("a.png", image, "image/png")},
                     data={"metadata": json.dumps(metadata), "note": "first"})
    assert added.status_code == 200, added.text
    body = added.json()
    assert set(body) == {"id", "signals"} and isinstance(body["id"], int)
    assert set(body["signals"]) == {"pdq", "md5", "sha1", "sha256"}
    assert body["signals"] == hma.post("/h/hash", files={"photo": ("a.png", image)}).json()

    content = hma.get(f"/c/bank/BANK/content/{body['id']}", params={"include_signals": "TRUE"}).json()
    assert content == {
        "id": body["id"], "disable_until_ts": 1, "original_media_uri": None,
        "bank": {"matching_enabled_ratio": 1.0, "name": "BANK"}, "signals": body["signals"],
        "metadata": {"content_id": "c-1", "content_uri": None, "json": {"case": 42}, "collab": None},
        "note": "first",
    }
    bare = hma.get(f"/c/bank/BANK/content/{body['id']}", params={"include_metadata": "no"}).json()
    assert "signals" not in bare and "metadata" not in bare and bare["note"] == "first"

    by_signal = hma.post("/c/bank/BANK/signal", json={"pdq": PDQ, "md5": " ABCDEF0123456789ABCDEF0123456789 "})
    assert by_signal.status_code == 200
    assert by_signal.json()["signals"] == {"pdq": PDQ, "md5": "abcdef0123456789abcdef0123456789"}
    plain = hma.get(f"/c/bank/BANK/content/{by_signal.json()['id']}").json()
    assert "note" not in plain and "metadata" not in plain and "signals" not in plain

    for payload, message in (
        ({"pdq": PDQ.upper()}, "Invalid pdq signal: invalid PDQ hash"),
        ({"pdq": PDQ[:-1]}, "Invalid pdq signal: invalid PDQ hash"),
        ({"md5": "xyz"}, "Invalid md5 signal: 'xyz' is not a valid MD5 hash"),
        ({"tmk": "00"}, "No such signal type tmk"),
        ({"note": "only a note"}, "No signals given"),
        ({"pdq": PDQ, "note": "n" * 256}, "note must be at most 255 characters"),
        ({"pdq": PDQ, "note": 5}, "note should be a string"),
    ):
        response = hma.post("/c/bank/BANK/signal", json=payload)
        assert (response.status_code, response.json()) == (400, {"message": message}), payload
    assert hma.post("/c/bank/NOPE/signal", json={"pdq": PDQ}).json() == {"message": "bank 'NOPE' not found"}
    assert hma.post("/c/bank/BANK/signal", content=b"{", headers={"Content-Type": "application/json"}
                    ).status_code == 400
    assert hma.post("/c/bank/BANK/signal", content=b"pdq", headers={"Content-Type": "text/plain"}).status_code == 415

    for kwargs, message in (
        ({}, "Neither `url` nor multipart file upload was received"),
        ({"files": {"photo": ("a.png", image)}, "data": {"metadata": "{nope"}}, "metadata form field must be valid JSON"),
        ({"files": {"photo": ("a.png", image)}, "data": {"metadata": "[1]"}}, "metadata should be a json object"),
        ({"files": {"photo": ("f.png", flat_image())}}, "Invalid pdq signal: invalid PDQ hash"),
        ({"files": {"audio": ("a.wav", b"RIFF")}}, "no such content_type: 'audio'"),
    ):
        response = hma.post("/c/bank/BANK/content", **kwargs)
        assert (response.status_code, response.json()) == (400, {"message": message}), message
    unknown_key = hma.post("/c/bank/BANK/content", files={"photo": ("a.png", image)},
                           data={"metadata": json.dumps({"colour": "red"})})
    assert unknown_key.status_code == 400 and unknown_key.json()["message"].startswith("Invalid metadata: ")

    audited = db.scalars(select(AuditRecord.action).where(AuditRecord.actor.like("platform-%"))).all()
    assert audited.count("bank.entry_add") == 2 and "bank.create" in audited


def test_content_enable_disable_delete(hma: TestClient, clock: ManualClock) -> None:
    hma.post("/c/banks", json={"name": "BANK"})
    content_id = hma.post("/c/bank/BANK/signal", json={"pdq": PDQ}).json()["id"]
    path = f"/c/bank/BANK/content/{content_id}"

    def lookup() -> dict:
        return hma.get("/m/lookup", params={"signal": PDQ, "signal_type": "pdq"}).json()

    def raw() -> list:
        return hma.get("/m/raw_lookup", params={"signal": PDQ, "signal_type": "pdq"}).json()["matches"]

    assert lookup() == {"BANK": [{"bank_content_id": content_id, "distance": "0"}]}
    disabled = hma.put(path, json={"disable_until_ts": 0, "note": "false positive"})
    assert disabled.status_code == 200
    assert disabled.json() == {"bank": {"matching_enabled_ratio": 1.0, "name": "BANK"}, "collab_metadata": {},
                               "disable_until_ts": 0, "id": content_id, "note": "false positive",
                               "original_media_uri": None, "user_metadata": None}
    assert lookup() == {} and raw() == [content_id]  # raw lookup ignores enablement

    until = int((clock.now() + timedelta(hours=1)).timestamp())
    assert hma.put(path, json={"disable_until_ts": str(until)}).json()["disable_until_ts"] == until
    assert hma.get(path).json()["disable_until_ts"] == until and lookup() == {}
    clock.advance(timedelta(hours=1, seconds=1))
    assert lookup() == {"BANK": [{"bank_content_id": content_id, "distance": "0"}]}  # disabled only until then
    assert hma.put(path, json={"disable_until_ts": 0}).json()["disable_until_ts"] == 0
    assert hma.put(path, json={"disable_until_ts": 1, "note": ""}).json()["note"] is None
    assert lookup() != {}

    too_late = int((clock.now() + timedelta(days=365 * 5 + 2)).timestamp())
    for value, message in ((-1, "disable_until_ts must be a non-negative integer"),
                           ("soon", "Invalid int: 'soon'"),
                           (too_late, "disable_until_ts must be less than 5 years in the future")):
        response = hma.put(path, json={"disable_until_ts": value})
        assert (response.status_code, response.json()) == (400, {"message": message})
    assert hma.put(path, content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415

    hma.post("/c/banks", json={"name": "OTHER"})
    assert hma.get(f"/c/bank/OTHER/content/{content_id}").status_code == 404  # Bastion checks the bank
    assert hma.delete(f"/c/bank/OTHER/content/{content_id}").json() == {"deleted": 0}
    assert hma.delete(path).json() == {"deleted": 1}
    assert hma.delete(path).json() == {"deleted": 0}
    gone = hma.get(path)
    assert (gone.status_code, gone.json()) == (404, {"message": f"content '{content_id}' not found"})
    assert hma.get("/c/bank/NOPE/content/1").json() == {"message": "bank 'NOPE' not found"}
    assert hma.get("/c/bank/BANK/content/abc").status_code == 404  # not an int: no route
    assert hma.get("/c/bank/BANK/content/99999999999999999999").status_code == 404
    assert lookup() == {} and raw() == []


def test_video_md5(hma: TestClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    from tests.media._videos import Clip, write_clip

    hma.post("/c/banks", json={"name": "VIDS"})
    video = write_clip(tmp_path / "v.mp4", Clip(seed=9, seconds=2, width=96, height=64)).read_bytes()
    hashed = hma.post("/h/hash", files={"video": ("v.mp4", video, "video/mp4")})
    assert hashed.status_code == 200 and list(hashed.json()) == ["video_md5", "vpdq"]  # every video type, as HMA
    assert hashed.json()["video_md5"] == hashlib.md5(video).hexdigest()
    added = hma.post("/c/bank/VIDS/content", files={"video": ("v.mp4", video)}).json()
    assert added["signals"] == hashed.json()
    content = hma.get(f"/c/bank/VIDS/content/{added['id']}", params={"include_signals": "true"}).json()
    assert content["signals"] == hashed.json()
    found = hma.get("/m/lookup", params={"signal": hashed.json()["video_md5"].upper(), "signal_type": "video_md5"})
    assert found.json() == {"VIDS": [{"bank_content_id": added["id"], "distance": ""}]}
    posted = hma.post("/m/lookup", params={"types": "video_md5"}, files={"video": ("v.mp4", video)}).json()
    assert posted == {"video_md5": {"VIDS": [{"bank_content_id": added["id"], "distance": ""}]}}
    both = hma.post("/m/lookup", files={"video": ("v.mp4", video)}).json()
    assert both["video_md5"] == posted["video_md5"] and [h["bank_content_id"] for h in both["vpdq"]["VIDS"]] == \
        [added["id"]]
    # bytes that are no video: the MD5 alone when asked for; by default vPDQ refuses them with a code
    fake = b"\x00\x00\x00\x18ftypmp42 synthetic, not a real video" * 10
    only_md5 = hma.post("/h/hash", params={"types": "video_md5"}, files={"video": ("f.mp4", fake)})
    assert only_md5.json() == {"video_md5": hashlib.md5(fake).hexdigest()}
    assert hma.post("/h/hash", files={"video": ("f.mp4", fake)}).status_code == 415


def test_signal_and_content_types(hma: TestClient, db: Session) -> None:
    names = [t["name"] for t in hma.get("/c/signal_type").json()]
    assert names == ["pdq", "video_md5", "md5", "sha1", "sha256", "vpdq"]
    assert all(t["enabled_ratio"] == 1.0 for t in hma.get("/c/signal_type").json())
    updated = hma.put("/c/signal_type/pdq", json={"enabled_ratio": "0.5"})
    assert updated.status_code == 204 and updated.content == b""
    assert {t["name"]: t["enabled_ratio"] for t in hma.get("/c/signal_type").json()}["pdq"] == 0.5
    assert "hma.signal_type_update" in db.scalars(select(AuditRecord.action)).all()
    for body, message in (({}, "enabled_ratio is required"), ({"enabled_ratio": "lots"}, "Invalid float: 'lots'")):
        response = hma.put("/c/signal_type/pdq", json=body)
        assert (response.status_code, response.json()) == (400, {"message": message})
    assert hma.put("/c/signal_type/tmk", json={"enabled_ratio": 1}).status_code == 500  # as upstream
    assert hma.put("/c/signal_type/pdq", json={"enabled_ratio": 2}).status_code == 500

    assert hma.get("/c/content_type").json() == [{"enabled": True, "name": "photo"}, {"enabled": True, "name": "video"}]

    empty = hma.get("/c/signal_type/index").json()
    assert empty["pdq"] == {"db_size": 0, "index_size": 0, "index_out_of_date": False, "newest_db_item": -1,
                            "index_built_to": -1}
    hma.post("/c/banks", json={"name": "BANK"})
    hma.post("/c/bank/BANK/signal", json={"pdq": PDQ, "md5": "0" * 32})
    only_pdq = hma.get("/c/signal_type/index", params={"signal_type": "pdq"}).json()
    assert list(only_pdq) == ["pdq"] and only_pdq["pdq"]["db_size"] == 1
    fresh = hma.get("/c/signal_type/index").json()  # current without a lookup first
    assert fresh["pdq"]["index_size"] == 1 and fresh["pdq"]["index_out_of_date"] is False
    assert fresh["pdq"]["index_built_to"] == fresh["pdq"]["newest_db_item"] > 0
    assert fresh["md5"]["db_size"] == 1 and fresh["sha1"]["db_size"] == 0
    bad = hma.get("/c/signal_type/index", params={"signal_type": "tmk"})
    assert (bad.status_code, bad.json()) == (400, {"message": "No such signal type 'tmk'"})
