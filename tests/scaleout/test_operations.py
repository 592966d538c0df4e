"""The operations figures: /metrics over real HTTP (who may read it), the page's dead letters and retry."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.batchscan.models import ScanJob
from bastion.batchscan.service import RUN_TASK
from bastion.broker import enqueue
from bastion.broker.models import TaskMessage
from bastion.clock import ManualClock
from bastion.config import Settings
from tests.conftest import api_key, api_login, make_user
from tests.livehttp import serve
from tests.scaleout.conftest import amqp_url
import bastion.batchscan.tasks  # noqa: F401  (registers scans.run)


def _app(settings: Settings, clock: ManualClock, engine: Any, **changes: Any) -> Any:
    from bastion.web.app import create_app

    return create_app(settings.model_copy(update=changes), clock=clock, engine=engine)


def dead_job(sessions: sessionmaker[Session], clock: ManualClock, content_id: str, media: bytes = b"x",
             error: str = "5 tries never recorded an outcome") -> str:
    """A dead-lettered scan job, as `scans.run` leaves one after its last try."""
    public_id = str(uuid.uuid4())
    with sessions() as session:
        session.add(ScanJob(public_id=public_id, idempotency_key=uuid.uuid4().hex, status="dead", source="upload",
                            url="", media=media, media_sha256="", content_id=content_id, account_id="", client_ip="",
                            metadata_json="{}", attempts=5, last_error=error, worker="host:1", webhook_status="",
                            submitted_by="test", created_at=clock.now(), finished_at=clock.now()))
        session.commit()
    return public_id


def _pending(sessions: sessionmaker[Session], clock: ManualClock, n: int) -> None:
    with sessions() as session:
        for i in range(n):
            enqueue(session, RUN_TASK, {"job_id": 10_000 + i}, clock=clock)
        session.commit()


def _value(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} missing from:\n{text}"
    return float(match.group(1))


def test_metrics_over_http_need_a_metrics_key(settings: Settings, clock: ManualClock, engine: Any,
                                              sessions: sessionmaker[Session]) -> None:
    app = _app(settings, clock, engine)
    dead_job(sessions, clock, "post-dead")
    _pending(sessions, clock, 2)
    with TestClient(app) as client:
        metrics_key = api_key(client, sessions, clock, role=Role.ADMIN, scopes=["metrics.read"])
        no_metrics_key = api_key(client, sessions, clock, role=Role.ADMIN, scopes=["banks.read"])
        platform_key = api_key(client, sessions, clock)
    with serve(app) as url:
        refused = httpx.get(f"{url}/metrics")
        assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"
        for headers in (no_metrics_key, platform_key):
            assert httpx.get(f"{url}/metrics", headers=headers).status_code == 403
        response = httpx.get(f"{url}/metrics", headers=metrics_key)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _value(text, "bastion_dead_letters", '{kind="scan"}') == 1
    assert _value(text, "bastion_scan_jobs", '{status="dead"}') == 1
    assert _value(text, "bastion_task_messages_pending", '{queue="scan"}') == 2
    assert _value(text, "bastion_task_messages_published_total", '{queue="scan"}') == 0
    assert _value(text, "bastion_broker_configured") == 0 and "bastion_broker_up" not in text
    assert "post-dead" not in text  # counts only, never content ids


def test_metrics_from_a_configured_address_need_no_key(settings: Settings, clock: ManualClock, engine: Any,
                                                       sessions: sessionmaker[Session]) -> None:
    with serve(_app(settings, clock, engine, metrics_allowed_networks="10.0.0.0/8, 127.0.0.1/32")) as url:
        assert httpx.get(f"{url}/metrics").status_code == 200
        assert httpx.post(f"{url}/metrics").status_code in (401, 405)  # reading only
    with serve(_app(settings, clock, engine, metrics_allowed_networks="10.0.0.0/8")) as url:
        assert httpx.get(f"{url}/metrics").status_code == 401  # another address: a key is needed


def test_metrics_and_the_page_report_the_brokers_queues(settings: Settings, clock: ManualClock, engine: Any,
                                                        sessions: sessionmaker[Session]) -> None:
    from bastion.broker import BrokerConfig
    from bastion.broker.celery_app import make_celery
    from bastion.web.scaleout import RELAY

    url = amqp_url()
    make_celery(BrokerConfig(url=url)).control.purge()
    app = _app(settings, clock, engine, broker_url=url, metrics_allowed_networks="127.0.0.1")
    _pending(sessions, clock, 3)
    assert app.state.bastion.services[RELAY].relay() == 3  # on the broker's scan queue; no worker consumes it
    with serve(app) as base:
        text = httpx.get(f"{base}/metrics").text
    admin = make_user(sessions, clock, Role.ADMIN)
    with TestClient(app) as client:
        api_login(client, admin, clock)
        page = client.get("/operations").text
    assert 'data-state="up"' in page and "guest:guest" not in page
    scan_row = re.search(r'<tr data-queue="scan">(.*?)</tr>', page, re.S)
    assert scan_row and re.findall(r"<td[^>]*>([^<]*)</td>", scan_row.group(1)) == ["scan", "0", "3", "3", "3", "3"]
    assert _value(text, "bastion_broker_up") == 1
    assert _value(text, "bastion_broker_queue_messages", '{queue="scan"}') == 3
    assert _value(text, "bastion_task_messages_published_total", '{queue="scan"}') == 3
    assert _value(text, "bastion_task_messages_pending", '{queue="scan"}') == 0
    make_celery(BrokerConfig(url=url)).control.purge()
    down = _app(settings, clock, engine, broker_url="amqp://guest:guest@127.0.0.1:1//",
                metrics_allowed_networks="127.0.0.1")
    with serve(down) as base:
        text = httpx.get(f"{base}/metrics").text
    with TestClient(down) as client:
        api_login(client, admin, clock)
        page = client.get("/operations").text
    assert 'data-state="down"' in page and "Not answering" in page
    assert _value(text, "bastion_broker_up") == 0 and "bastion_broker_queue_messages{" not in text


def test_the_page_lists_searches_pages_and_retries_dead_letters(
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    ids = [dead_job(sessions, clock, f"post-{i}") for i in range(53)]
    wanted = dead_job(sessions, clock, "needle-post", error="worker killed by OOM")
    admin = make_user(sessions, clock, Role.ADMIN)
    csrf = api_login(client, admin, clock)
    first = client.get("/operations")
    assert first.status_code == 200 and first.text.count('class="dead-row"') == 50
    next_link = re.search(r'href="([^"]+)#dead-letters" id="dead-next"', first.text)
    assert next_link, "a second page of dead letters"
    second = client.get(next_link.group(1).replace("&amp;", "&"))
    assert second.text.count('class="dead-row"') == 4 and ids[0] in second.text and 'id="dead-next"' not in second.text
    for term in ("needle-post", wanted, "OOM"):
        found = client.get("/operations", params={"q": term})
        assert found.text.count('class="dead-row"') == 1 and wanted in found.text
    retried = client.post(f"/operations/dead-letters/{wanted}/retry", data={"csrf_token": csrf},
                          follow_redirects=False)
    assert retried.status_code == 303 and "error" not in retried.headers["location"]
    with sessions() as session:
        job = session.scalars(select(ScanJob).where(ScanJob.public_id == wanted)).one()
        assert job.status != "dead" and job.attempts >= 1  # retried (and, with no broker, run inline at once)
        assert session.scalar(select(TaskMessage.status).where(TaskMessage.payload.contains(str(job.id)))) == "published"
    again = client.post(f"/operations/dead-letters/{wanted}/retry", data={"csrf_token": csrf}, follow_redirects=False)
    assert "error=" in again.headers["location"]  # no longer dead: refused with a sentence, nothing queued
    reviewer = make_user(sessions, clock, Role.REVIEWER)
    other = TestClient(client.app)
    api_login(other, reviewer, clock)
    assert other.get("/operations").status_code == 403


def test_dead_deliveries_are_listed_searched_and_retried_from_the_operations_page(
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    import json

    from sqlalchemy import update

    from bastion.actions import enqueue as enqueue_action
    from bastion.actions.models import OutboxAction
    from bastion.audit.models import AuditRecord

    ids = []
    with sessions() as session:
        for target in ("post-1", "post-2"):
            ids.append(enqueue_action(session, kind="remove_content", target=target, subject="case:7", payload={"reason": "hash_match"},
                                      actor="user:reviewer", clock=clock).id)
        session.commit()
        # as the deliverer leaves them once the platform refused each for good
        session.execute(update(OutboxAction).where(OutboxAction.id.in_(ids))
                        .values(status="dead", attempts=8, last_error="HTTP 422 unknown post"))
        session.commit()
    admin = make_user(sessions, clock, Role.ADMIN)
    csrf = api_login(client, admin, clock)
    assert '<a href="/operations/deliveries?kind=actions">2</a>' in client.get("/operations").text
    page = client.get("/operations/deliveries", params={"kind": "actions"}).text
    assert [int(i) for i in re.findall(r'class="dead-delivery" data-id="(\d+)"', page)] == ids[::-1]  # newest first
    assert "Remove content of post-2" in page and "HTTP 422 unknown post" in page
    searched = client.get("/operations/deliveries", params={"kind": "actions", "q": "post-1"}).text
    assert re.findall(r'class="dead-delivery" data-id="(\d+)"', searched) == [str(ids[0])]
    retried = client.post(f"/operations/deliveries/actions/{ids[0]}/retry", data={"csrf_token": csrf},
                          follow_redirects=False)
    assert retried.status_code == 303 and "error" not in retried.headers["location"]
    with sessions() as session:
        assert session.get_one(OutboxAction, ids[0]).status != "dead"
        published = [json.loads(p) for p in session.scalars(select(TaskMessage.payload)
                                                            .where(TaskMessage.task == "actions.deliver_row"))]
        assert {"outbox_id": ids[0]} in published  # its row task goes out with the commit
        assert session.scalar(select(AuditRecord.action).where(AuditRecord.action == "action.requeue"))
    again = client.post(f"/operations/deliveries/actions/{ids[0]}/retry", data={"csrf_token": csrf},
                        follow_redirects=False)
    assert "error=" in again.headers["location"]  # no longer dead: refused with a reason
    assert client.post("/operations/deliveries/nothing/1/retry", data={"csrf_token": csrf},
                       follow_redirects=False).status_code == 404
