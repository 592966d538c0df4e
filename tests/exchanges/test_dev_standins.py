"""`bastion dev exchanges`: the stand-ins come up seeded, and python-threatexchange's clients read them."""

from __future__ import annotations

import re
import threading
import time

import httpx
from threatexchange.exchanges.clients.fb_threatexchange.api import ThreatExchangeAPI
from threatexchange.exchanges.clients.ncmec import hash_api
from threatexchange.exchanges.clients.stopncii import api as stopncii_api
from threatexchange.exchanges.clients.techagainstterrorism import api as tat_api


def test_the_dev_stand_ins_serve_seeded_hashes_to_the_real_clients() -> None:
    from bastion.dev.exchanges import serve_exchanges

    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=serve_exchanges, args=("127.0.0.1", 0, 0, "dev-user", "dev-password-1",
                                                            lines.append, stop), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while len(lines) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        base_url = re.search(r"base_url=(\S+)", lines[0]).group(1)  # type: ignore[union-attr]
        list_url = re.search(r"url=(\S+)", lines[1]).group(1)  # type: ignore[union-attr]
        listed = httpx.get(list_url).text.splitlines()
        assert len(listed) == 20 and all(re.fullmatch(r"pdq [0-9a-f]{64}", line) for line in listed)
        client = hash_api.NCMECHashAPI("dev-user", "dev-password-1", hash_api.NCMECEnvironment.test_Industry)
        client._base_url = base_url  # noqa: SLF001
        assert client.status().esp_id == 7
        entries = [u for page in client.get_entries_iter(start_timestamp=0, end_timestamp=int(time.time()))
                   for u in page.updates]
        assert len(entries) == 20 and all(set(e.fingerprints) == {"pdq", "md5"} for e in entries)

        stopncii_url = re.search(r"base_url=(\S+)", lines[2]).group(1)  # type: ignore[union-attr]
        keys = dict(re.findall(r"(\w+_key)=(\S+)", lines[2]))
        stopncii = stopncii_api.StopNCIIAPI(keys["subscription_key"], keys["fetch_key"],
                                            base_url_override=stopncii_url)
        records = [r for page in stopncii.fetch_hashes_iter() for r in page.hashRecords]
        assert len(records) == 20 and {r.signalType.value for r in records} == {"ImagePDQ"}

        graph_url = re.search(r"base_url=(\S+)", lines[3]).group(1)  # type: ignore[union-attr]
        group = int(re.search(r"privacy_group=(\d+)", lines[3]).group(1))  # type: ignore[union-attr]
        token = re.search(r"token=(\S+)", lines[3]).group(1)  # type: ignore[union-attr]
        graph = ThreatExchangeAPI(token, endpoint_override=graph_url)
        updates = [u for page in graph.get_threat_updates(group, page_size=7) for u in page]
        assert len(updates) == 20 and {u["type"] for u in updates} == {"HASH_PDQ"}

        tcap_url = re.search(r"base_url=(\S+)", lines[4]).group(1)  # type: ignore[union-attr]
        tat = tat_api.TATHashListAPI("dev-user", "dev-password-1")
        tat.BASE_URL = tcap_url  # type: ignore[misc]
        hashes = [r for page in tat.fetch_hashes_iter() for r in page.results]
        assert len(hashes) == 20 and {r.algorithm for r in hashes} == {"PDQ"}
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
