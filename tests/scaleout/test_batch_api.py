"""Asynchronous batch scanning without a broker (in-process), and the API's refusals.

No broker: the relay hands committed task messages to the in-process executor (inline
here), so a batch is scanned by the same `scans.run` task a Celery worker runs.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bastion.batchscan.models import ScanJob
from bastion.batchscan.tasks import SCANNER, run_job
from bastion.broker.models import TaskMessage
from bastion.clock import ManualClock
from bastion.config import Settings
from bastion.executor import TaskContext
from bastion.media import hash_media
from bastion.scanning.models import Scan
from tests.conftest import api_key
from tests.detect.images import jpeg


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _app(settings: Settings, clock: ManualClock, engine: Any, **changes: Any) -> Any:
    from bastion.web.app import create_app

    return create_app(settings.model_copy(update=changes), clock=clock, engine=engine)


def test_a_batch_is_accepted_scanned_once_and_polled(client: TestClient, platform_headers: dict[str, str],
                                                     db: Session) -> None:
    client.post("/api/v1/banks", json={"name": "KNOWN"}, headers=platform_headers)
    client.post("/api/v1/banks/KNOWN/entries", json={"signals": {"pdq": hash_media(jpeg(1)).pdq},
                                                     "classification": "A1"}, headers=platform_headers)
    items = [
        {"data": b64(jpeg(1, "resized")), "content_id": "post-1", "account_id": "user-1",
         "uploaded_at": "2026-11-28T10:00:00Z", "metadata": {"channel": "dm"}},
        {"data": "not base64 at all!", "content_id": "post-2"},
        {"data": b64(jpeg(2)), "content_id": "post-3", "uploaded_at": "yesterday"},
        {"data": b64(jpeg(2)), "content_id": "post-4"},
        {"data": b64(b"plain text, not an image"), "content_id": "post-5"},
        "not an object",
    ]
    response = client.post("/api/v1/scans", json={"items": items}, headers=platform_headers)
    assert response.status_code == 202, response.text
    answered = response.json()["items"]
    assert [a["index"] for a in answered] == list(range(6))
    assert [a["status"] for a in answered] == ["queued", "rejected", "rejected", "queued", "queued", "rejected"]
    assert answered[1]["error"]["code"] == "invalid_input" and "base64" in answered[1]["error"]["detail"]
    assert "uploaded_at" in answered[2]["error"]["detail"]

    first = client.get(f"/api/v1/scans/{answered[0]['id']}", headers=platform_headers).json()
    assert first["status"] == "done" and first["content_id"] == "post-1"
    assert first["scan"]["match_count"] == 1 and first["scan"]["matches"][0]["bank"] == "KNOWN"
    assert client.get(f"/api/v1/scans/{answered[3]['id']}", headers=platform_headers).json()["scan"]["match_count"] == 0
    refused = client.get(f"/api/v1/scans/{answered[4]['id']}", headers=platform_headers).json()
    assert refused["status"] == "failed" and refused["error"].startswith("unsupported_media")
    assert db.scalar(select(func.count()).select_from(Scan)) == 2
    assert db.scalar(select(func.count()).select_from(ScanJob).where(ScanJob.media.is_not(None))) == 0  # bytes dropped
    assert set(db.scalars(select(TaskMessage.status))) == {"published"}

    again = client.post("/api/v1/scans", json={"items": [items[0]]}, headers=platform_headers).json()["items"][0]
    assert again["id"] == answered[0]["id"] and again["status"] == "done"  # same content id and media: same job
    assert db.scalar(select(func.count()).select_from(Scan)) == 2
    unknown = client.get(f"/api/v1/scans/{uuid.uuid4()}", headers=platform_headers)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


def test_an_oversized_batch_is_refused_naming_the_limit(settings: Settings, clock: ManualClock, engine: Any,
                                                        sessions: sessionmaker[Session]) -> None:
    with TestClient(_app(settings, clock, engine, scan_batch_max_items=3)) as client:
        headers = api_key(client, sessions, clock)
        items = [{"data": b64(jpeg(i)), "content_id": f"p{i}"} for i in range(4)]
        response = client.post("/api/v1/scans", json={"items": items}, headers=headers)
        assert response.status_code == 413 and response.json()["code"] == "batch_too_large"
        assert "at most 3 items" in response.json()["detail"]
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(ScanJob)) == 0


def test_past_the_queue_depth_the_api_answers_429(settings: Settings, clock: ManualClock, engine: Any,
                                                  sessions: sessionmaker[Session]) -> None:
    app = _app(settings, clock, engine, scan_queue_max_depth=3)
    with TestClient(app) as client:
        headers = api_key(client, sessions, clock)
        app.state.bastion.services["broker.relay"].dispatcher = _Holding()  # nothing runs: jobs stay queued
        first = client.post("/api/v1/scans", json={"items": [{"data": b64(jpeg(i)), "content_id": f"p{i}"}
                                                             for i in range(3)]}, headers=headers)
        assert first.status_code == 202
        response = client.post("/api/v1/scans", json={"items": [{"data": b64(jpeg(9)), "content_id": "p9"}]},
                               headers=headers)
        assert response.status_code == 429 and response.json()["code"] == "queue_full"
        assert int(response.headers["Retry-After"]) > 0
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(ScanJob)) == 3


class _Holding:
    """A dispatcher whose broker keeps every message (as a backlog does): publishing succeeds, nothing runs."""

    def __init__(self) -> None:
        self.published: list[int] = []

    def publish(self, task: str, queue: str, payload: dict[str, Any], message_id: int) -> None:
        self.published.append(message_id)


def test_a_configured_broker_that_is_down_answers_503_and_readyz_says_so(
        settings: Settings, clock: ManualClock, engine: Any, sessions: sessionmaker[Session]) -> None:
    from tests.livehttp import free_port

    down = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    with TestClient(_app(settings, clock, engine, broker_url=down)) as client:
        headers = api_key(client, sessions, clock)
        response = client.post("/api/v1/scans", json={"items": [{"data": b64(jpeg(1))}]}, headers=headers)
        assert response.status_code == 503 and response.json()["code"] == "broker_unavailable"
        assert int(response.headers["Retry-After"]) > 0
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "broker_unavailable"
        assert "guest:guest" not in ready.text  # the password is never shown
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(ScanJob)) == 0


def test_a_committed_message_survives_a_broker_outage_and_is_relayed_later(
        client: TestClient, platform_headers: dict[str, str], sessions: sessionmaker[Session]) -> None:
    relay = client.app.state.bastion.services["broker.relay"]  # type: ignore[attr-defined]
    working = relay.dispatcher
    relay.dispatcher = _Refusing()
    response = client.post("/api/v1/scans", json={"items": [{"data": b64(jpeg(4)), "content_id": "p4"}]},
                           headers=platform_headers)
    assert response.status_code == 202  # committed before publishing: the outage loses nothing
    job = response.json()["items"][0]["id"]
    with sessions() as session:
        message = session.scalars(select(TaskMessage)).one()
        assert message.status == "pending" and "ConnectionRefusedError" in message.last_error
    assert client.get(f"/api/v1/scans/{job}", headers=platform_headers).json()["status"] == "queued"
    relay.dispatcher = working  # the broker is back
    assert relay.relay() == 1
    assert client.get(f"/api/v1/scans/{job}", headers=platform_headers).json()["status"] == "done"
    assert relay.relay() == 0  # published once


class _Refusing:
    def publish(self, task: str, queue: str, payload: dict[str, Any], message_id: int) -> None:
        raise ConnectionRefusedError("broker down")


class _Crashing:
    """Stands for a worker that dies while scanning: the try was counted, no outcome recorded."""

    def scan_bytes(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("worker died mid-scan")


def test_a_poison_message_is_dead_lettered_after_its_tries_and_retryable(
        client: TestClient, platform_headers: dict[str, str], sessions: sessionmaker[Session]) -> None:
    state = client.app.state.bastion  # type: ignore[attr-defined]
    scanner = state.services[SCANNER]
    state.services[SCANNER] = _Crashing()
    state.services["broker.relay"].dispatcher.max_tries = 1  # this test redelivers by hand, below
    response = client.post("/api/v1/scans", json={"items": [{"data": b64(jpeg(5)), "content_id": "p5"}]},
                           headers=platform_headers)
    job = response.json()["items"][0]["id"]
    ctx = TaskContext(sessions=state.sessions, clock=state.clock, services=state.services)
    with sessions() as session:
        job_id = session.scalars(select(ScanJob.id).where(ScanJob.public_id == job)).one()
    for _ in range(4):  # the broker redelivers: tries 2..5
        try:
            run_job(ctx, {"job_id": job_id})
        except RuntimeError:
            pass
    assert client.get(f"/api/v1/scans/{job}", headers=platform_headers).json()["status"] == "running"
    run_job(ctx, {"job_id": job_id})  # the sixth delivery: no more tries
    dead = client.get(f"/api/v1/scans/{job}", headers=platform_headers).json()
    assert dead["status"] == "dead" and "5 tries" in dead["error"] and dead["attempts"] == 6
    assert [d["id"] for d in client.get("/api/v1/scan-jobs/dead", headers=platform_headers).json()] == [job]

    state.services[SCANNER] = scanner  # fixed
    retried = client.post(f"/api/v1/scans/{job}/retry", headers=platform_headers)
    assert retried.status_code == 202, retried.text
    done = client.get(f"/api/v1/scans/{job}", headers=platform_headers).json()
    assert done["status"] == "done" and done["scan"]["scan_id"]
    assert client.post(f"/api/v1/scans/{job}/retry", headers=platform_headers).status_code == 409
    assert client.get("/api/v1/scan-jobs/dead", headers=platform_headers).json() == []


def test_without_a_broker_the_servers_own_threads_run_the_batch(settings: Settings, clock: ManualClock, engine: Any,
                                                                sessions: sessionmaker[Session]) -> None:
    """`bastion serve`'s background (executor threads and relay) runs what the API queued, no broker needed."""
    import time

    from bastion.web.app import create_app

    with TestClient(create_app(settings, clock=clock, engine=engine, background=True)) as client:
        assert "broker" not in client.get("/readyz").json()
        headers = api_key(client, sessions, clock)
        answered = client.post("/api/v1/scans", json={"items": [{"data": b64(jpeg(i)), "content_id": f"s{i}"}
                                                                for i in range(3)]}, headers=headers).json()["items"]
        deadline = time.monotonic() + 60  # only a bound for a hung run
        statuses: list[str] = []
        while time.monotonic() < deadline:
            statuses = [client.get(f"/api/v1/scans/{a['id']}", headers=headers).json()["status"] for a in answered]
            if set(statuses) == {"done"}:
                break
            time.sleep(0.1)
        assert statuses == ["done"] * 3


class _FailingOnce:
    """A scanner whose first call fails as a dropped database connection would; then the real one."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, 0

    def scan_bytes(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionResetError("connection to the database was reset")
        return self.real.scan_bytes(*args, **kwargs)


def test_without_a_broker_a_failed_try_is_run_again(client: TestClient, platform_headers: dict[str, str]) -> None:
    import time

    state = client.app.state.bastion  # type: ignore[attr-defined]
    state.services[SCANNER] = flaky = _FailingOnce(state.services[SCANNER])
    job = client.post("/api/v1/scans", json={"items": [{"data": b64(jpeg(6)), "content_id": "p6"}]},
                      headers=platform_headers).json()["items"][0]["id"]
    deadline = time.monotonic() + 30  # only a bound for a hung run; the retry comes after about a second
    while client.get(f"/api/v1/scans/{job}", headers=platform_headers).json()["status"] != "done":
        assert time.monotonic() < deadline, "the failed try was never run again"
        time.sleep(0.1)
    done = client.get(f"/api/v1/scans/{job}", headers=platform_headers).json()
    assert flaky.calls == 2 and done["attempts"] == 2 and done["scan"]["scan_id"]


def test_an_uploaded_video_goes_to_the_video_queue_and_an_image_to_the_scan_queue(
        client: TestClient, platform_headers: dict[str, str], db: Session, tmp_path: Any) -> None:
    from tests.media._videos import Clip, write_clip

    video = write_clip(tmp_path / "clip.mp4", Clip(seed=3, seconds=2, width=96, height=64)).read_bytes()
    items = [{"data": b64(video), "content_id": "post-video"}, {"data": b64(jpeg(5)), "content_id": "post-image"}]
    response = client.post("/api/v1/scans", json={"items": items}, headers=platform_headers)
    assert response.status_code == 202, response.text
    routed = dict(db.execute(select(TaskMessage.task, TaskMessage.queue)
                             .where(TaskMessage.task.in_(("video.scan", "scans.run")))).all())
    assert routed == {"video.scan": "video", "scans.run": "scan"}
    ids = [item["id"] for item in response.json()["items"]]
    polled = [client.get(f"/api/v1/scans/{i}", headers=platform_headers).json() for i in ids]
    assert [p["status"] for p in polled] == ["done", "done"]  # the same work, in-process without a broker
