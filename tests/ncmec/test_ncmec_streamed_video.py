"""A preserved video goes to the CyberTipline stand-in streamed from the vault, chunk by chunk, intact.

Memory is shown by how the body travelled, not by tracemalloc: the stand-in runs in
this process and spools uploads of up to 1 MiB in memory, so a process-wide peak
would measure it, not Bastion. Bastion's side is a seekable vault reader that
decrypts each chunk once, in order, into an iterated request body.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import ManualClock
from bastion.dev.ncmec import StandinServer
from bastion.evidence import FsspecBlobStore, MasterKey, Vault
from bastion.ncmec.client import CyberTiplineClient
from tests.media._videos import make_clip

from .conftest import CountingTransport, make_report

CHUNK = 16 * 1024


def test_video_upload_streams_from_the_vault_and_arrives_intact(
    client: CyberTiplineClient, standin: StandinServer, transport: CountingTransport, clock: ManualClock,
    sessions: sessionmaker[Session], tmp_path: Path,
) -> None:
    video = make_clip(tmp_path, "upload", seconds=4.0, bit_rate=2_000_000)
    data = video.read_bytes()
    assert len(data) > 20 * CHUNK
    vault = Vault(FsspecBlobStore(str(tmp_path / "vault")), MasterKey.generate(), clock, chunk_bytes=CHUNK)
    with sessions() as s:
        with video.open("rb") as source:
            item_id = vault.preserve(s, source, kind="media", subject="case:3", actor="reviewer:ana",
                                     reason="confirmed in case 3").id
        s.commit()
    report_id = client.submit(make_report()).report_id

    with sessions() as s:
        reader = vault.open_stream(s, item_id, actor="system:ncmec", reason=f"upload to report {report_id}")
        s.commit()
        with reader:
            sent = client.upload(report_id, reader, filename="clip.mp4", content_type="video/mp4")
            chunks, held = reader.raw.chunks_read, len(reader.raw._chunk)  # noqa: SLF001

    digest = hashlib.md5(data).hexdigest()
    assert sent.md5 == digest and sent.size == len(data)
    assert standin.state.file_md5(report_id, sent.file_id) == digest  # what arrived, hashed by the stand-in
    assert chunks == -(-len(data) // CHUNK)  # every chunk decrypted exactly once, in order
    assert held <= CHUNK
    upload = transport.requests[-1]
    assert upload.url.path.endswith("/upload")
    assert int(upload.headers["Content-Length"]) > len(data)  # the length was known without reading the video
    assert not isinstance(upload.stream, bytes) and not hasattr(upload, "_content")  # an iterated body
