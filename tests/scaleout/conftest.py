"""Broker fixtures: the real RabbitMQ and Redis, never mocks.

The URLs come from BASTION_TEST_AMQP_URL and BASTION_TEST_REDIS_URL (used on its own database
number, 13, emptied first); `.ci/run` exports them after
`scripts/test-services.sh` found or started the servers. When CI is set, a broker that is not
configured or does not answer fails the test: the broker tests are never skipped there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from kombu.utils.url import maybe_sanitize_url

from bastion.broker.celery_app import ping
from tests.livehttp import free_port
from tests.scaleout import s3server

AMQP_ENV = "BASTION_TEST_AMQP_URL"
REDIS_ENV = "BASTION_TEST_REDIS_URL"
#: The Redis database the broker tests use, apart from whatever else shares the server.
REDIS_BROKER_DB = 13


def _require(url: str | None, env: str) -> str:
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{env} is not set; CI must run the broker tests (see .ci/run and scripts/test-services.sh)")
        pytest.skip(f"{env} is not set (locally: eval \"$(scripts/test-services.sh)\")")
    error = ping(url)
    if error is not None:
        message = f"the broker at {maybe_sanitize_url(url)} does not answer: {error}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


def amqp_url() -> str:
    return _require(os.environ.get(AMQP_ENV), AMQP_ENV)


def redis_url() -> str:
    """The test Redis, on its own database number, emptied first."""
    import redis

    base = _require(os.environ.get(REDIS_ENV), REDIS_ENV)
    url = base.rsplit("/", 1)[0] + f"/{REDIS_BROKER_DB}" if base.count("/") >= 3 else f"{base}/{REDIS_BROKER_DB}"
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(params=["rabbitmq", "redis"])
def broker_url(request: pytest.FixtureRequest) -> str:
    """A live broker of each kind (the tests purge Bastion's queues before use)."""
    if request.param == "redis":
        return redis_url()
    return amqp_url()


# -- an S3-compatible store (moto's server over HTTP) for shared index snapshots --------------------


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> s3server.S3:
    """A fresh bucket on the moto server, and AWS test credentials in this process's environment."""
    for name, value in s3server.CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    store = s3server.S3(s3_server, f"snapshots-{uuid.uuid4().hex[:12]}")
    store.client().create_bucket(Bucket=store.bucket)
    return store
