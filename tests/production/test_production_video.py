"""A production package carrying a video: streamed from the vault into the ZIP, then verified by the CLI."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bastion.cli.production import production_app
from bastion.clock import ManualClock
from bastion.evidence import FsspecBlobStore, MasterKey, Vault
from bastion.production import SigningKey, write_package
from bastion.production import package as package_module
from tests.media._videos import make_clip
from tests.production.conftest import ATTACHMENTS, CUSTODIAN, DATASETS, REQUEST, SCOPE

CHUNK = 16 * 1024
VIDEO = "48213/media/m-3.mp4"


def _peak(out: Path, attachments: list, signer: SigningKey) -> int:  # type: ignore[type-arg]
    """Peak traced memory while writing a package (the certificate PDF alone takes a few MiB)."""
    with out.open("wb") as handle:
        tracemalloc.start()
        try:
            write_package(handle, REQUEST, SCOPE, DATASETS, attachments, signer, CUSTODIAN, clock=ManualClock())
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_package_with_a_streamed_video_verifies(signer: SigningKey, sessions: sessionmaker[Session],
                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package_module, "COPY_BYTES", CHUNK)  # copy in the vault's unit, as a small instance would
    video = make_clip(tmp_path, "evidence", seconds=4.0, bit_rate=2_000_000)
    data = video.read_bytes()
    vault = Vault(FsspecBlobStore(str(tmp_path / "vault")), MasterKey.generate(), ManualClock(), chunk_bytes=CHUNK)
    with sessions() as s:
        with video.open("rb") as source:
            item_id = vault.preserve(s, source, kind="media", subject="legal:LE-2026-0012", actor="officer:lee",
                                     reason="content in scope").id
        s.commit()
    with (tmp_path / "warm.zip").open("wb") as out:  # imports and PDF fonts load once, outside the measurement
        write_package(out, REQUEST, SCOPE, DATASETS, ATTACHMENTS, signer, CUSTODIAN, clock=ManualClock())
    without_video = _peak(tmp_path / "without.zip", ATTACHMENTS, signer)

    package = tmp_path / "LE-2026-0012.zip"
    with sessions() as s:
        exported = vault.export_stream(s, item_id, actor="officer:lee", reason="production",
                                       destination="production for LE-2026-0012")
        s.commit()
    with exported.reader as reader:
        with_video = _peak(package, [*ATTACHMENTS, (VIDEO, reader)], signer)
        chunks = reader.raw.chunks_read
    segments = -(-len(data) // CHUNK)
    assert chunks == 2 * segments  # read twice, a chunk at a time: hashed for the manifest, then copied
    assert with_video - without_video < len(data) / 4  # the video added far less than itself to the peak

    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        entry = next(f for f in manifest["files"] if f["path"] == f"attachments/{VIDEO}")
        assert (entry["sha256"], entry["size"]) == (hashlib.sha256(data).hexdigest(), len(data))
        assert archive.getinfo(f"attachments/{VIDEO}").compress_type == zipfile.ZIP_STORED
        assert archive.read(f"attachments/{VIDEO}") == data

    (tmp_path / "key.pem").write_text(signer.public_pem)
    result = CliRunner().invoke(production_app, ["verify", str(package), "--public-key", str(tmp_path / "key.pem")])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == f"attachments/{VIDEO}":
                body = body[:-10] + bytes(10)
            target.writestr(info, body)
    result = CliRunner().invoke(production_app, ["verify", str(tampered), "--public-key", str(tmp_path / "key.pem")])
    assert result.exit_code == 1 and VIDEO in result.output and "NOT VALID" in result.output
