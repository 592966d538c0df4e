"""`bastion dev exchanges`: both stand-ins come up seeded, and python-threatexchange's client reads the NCMEC one."""

from __future__ import annotations

import re
import threading
import time

import httpx
from threatexchange.exchanges.clients.ncmec import hash_api


def test_the_dev_stand_ins_serve_seeded_hashes_to_the_real_clients() -> None:
    from bastion.dev.exchanges import serve_exchanges

    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=serve_exchanges, args=("127.0.0.1", 0, 0, "dev-user", "dev-password-1",
                                                            lines.append, stop), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while len(lines) < 3 and time.monotonic() < deadline:
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
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
