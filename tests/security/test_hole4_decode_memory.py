"""Hole 4: an 86 KB PNG declaring 9400 x 9400 pixels cost ~10 s and ~2.3 GB per decode; three took 7 GB.

Now the default pixel cap refuses it from its header; concurrent decodes share a pixel budget and
the overflow is a 503 with `Retry-After`; decoding runs in worker processes whose address space the
OS caps, so a picture that needs too much memory fails there with a typed error while the server's
own memory stays where it was, and the next upload is served.
"""

from __future__ import annotations

import io
import resource
from pathlib import Path

import pytest
from PIL import Image

from bastion.auth.roles import Role
from bastion.config import Settings
from bastion.media import isolation
from tests.detect.images import jpeg
from tests.security.conftest import Live, api_key, login


def _flat_png(width: int, height: int) -> bytes:
    """A benign one-colour picture: tiny as a file, huge once decoded."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def _platform(live: Live, user_factory) -> object:  # type: ignore[no-untyped-def]
    admin = live.client("192.0.2.1")
    csrf = login(admin, user_factory(Role.ADMIN), live.clock)
    machine = live.client("192.0.2.11")
    machine.headers["Authorization"] = f"Bearer {api_key(live, admin, csrf, user_factory(Role.PLATFORM).username)}"
    return machine


def test_the_default_cap_refuses_the_9400_square_png_from_its_header(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    bomb = _flat_png(9400, 9400)
    assert len(bomb) < 100_000
    machine = _platform(live, user_factory)
    scanned = machine.post("/api/v1/scan", files={"file": ("b.png", bomb)}, data={"content_id": "b-1"})  # type: ignore[attr-defined]
    assert scanned.status_code == 413 and scanned.json()["code"] == "decompression_bomb", scanned.text
    hma = machine.post("/m/lookup", files={"photo": ("b.png", bomb)})  # type: ignore[attr-defined]
    assert hma.status_code in (400, 413, 422) and "message" in hma.json(), hma.text


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small budget, so the test can fill it; one decoder process with a 1 GiB cap."""
    return settings.model_copy(update={"media_decode_budget_pixels": 2_000_000, "media_decode_workers": 1,
                                       "media_decode_memory_mb": 1024})


def test_a_full_budget_answers_503_with_retry_after_and_frees_up(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    machine = _platform(live, user_factory)
    with isolation.budget().reserve(2_000_000):  # another upload is being decoded
        busy = machine.post("/api/v1/scan", files={"file": ("p.jpg", jpeg(3))}, data={"content_id": "p-1"})  # type: ignore[attr-defined]
        assert busy.status_code == 503 and busy.json()["code"] == "decoder_busy"
        assert int(busy.headers["retry-after"]) > 0
    served = machine.post("/api/v1/scan", files={"file": ("p.jpg", jpeg(3))}, data={"content_id": "p-2"})  # type: ignore[attr-defined]
    assert served.status_code == 200, served.text
    assert isolation.budget().in_use == 0


def test_a_decode_past_the_memory_cap_fails_in_its_worker_not_in_the_server(live, user_factory,  # type: ignore[no-untyped-def]
                                                                            tmp_path: Path) -> None:
    """A 40 MP picture is under the pixel cap but needs more than the decoder's 1 GiB: it fails there."""
    isolation.configure(budget_pixels=60_000_000, workers=1, memory_mb=1024)
    big = _flat_png(8000, 5000)
    machine = _platform(live, user_factory)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB; the server runs in this process
    for n in range(3):
        refused = machine.post("/api/v1/scan", files={"file": ("big.png", big)}, data={"content_id": f"big-{n}"})  # type: ignore[attr-defined]
        assert refused.status_code == 413 and refused.json()["code"] == "decode_out_of_memory", refused.text
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 200, f"the server itself grew by {grown_mib:.0f} MiB decoding in a worker"
    served = machine.post("/api/v1/scan", files={"file": ("p.jpg", jpeg(4))}, data={"content_id": "after"})  # type: ignore[attr-defined]
    assert served.status_code == 200  # the pool carries on
