"""`bastion worker` refuses clearly what it cannot run; the task routing table covers every queue kind."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bastion.broker import QUEUES, queue_for
from bastion.cli.main import app as cli
from bastion.config import get_settings

runner = CliRunner()


def test_worker_needs_a_broker_and_known_queues(monkeypatch, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BASTION_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("BASTION_BROKER_URL", raising=False)
    get_settings.cache_clear()
    try:
        no_broker = runner.invoke(cli, ["worker"])
        assert no_broker.exit_code == 1 and "BASTION_BROKER_URL" in no_broker.output
        monkeypatch.setenv("BASTION_BROKER_URL", "amqp://guest:guest@127.0.0.1:1//")
        get_settings.cache_clear()
        unknown = runner.invoke(cli, ["worker", "--queues", "scan,videos"])
        assert unknown.exit_code == 1 and "['videos']" in unknown.output and "exchange" in unknown.output
    finally:
        get_settings.cache_clear()


def test_tasks_are_routed_to_the_queue_of_their_kind() -> None:
    import bastion.actions.tasks  # noqa: F401  (each import registers its tasks, as the app's wiring does)
    import bastion.batchscan.tasks  # noqa: F401
    import bastion.exchanges.contribute  # noqa: F401
    import bastion.exchanges.tasks  # noqa: F401
    import bastion.mail.tasks  # noqa: F401
    import bastion.ncmec.tasks  # noqa: F401
    from bastion.executor import registry

    routed = {name: queue_for(name) for name in registry.names()}
    assert routed["scans.run"] == "scan" and routed["scans.webhook"] == "deliver"
    assert routed["actions.deliver"] == "deliver" and routed["mail.send"] == "deliver"
    assert routed["actions.deliver_row"] == "deliver" and routed["mail.send_row"] == "deliver"
    assert {queue for name, queue in routed.items() if name.startswith("ncmec.")} == {"ncmec"}
    assert {queue for name, queue in routed.items() if name.startswith("exchanges.")} == {"exchange"}
    assert {"exchanges.fetch", "exchanges.run", "exchanges.share"} <= routed.keys()
    assert set(routed.values()) <= set(QUEUES)
