"""Hostile XML for the parser tests: an external entity that would read a local file into the text."""

from __future__ import annotations

from pathlib import Path


def secret_file(tmp_path: Path, marker: str) -> Path:
    """A local file whose content must never show up in an error, a log line or a reply."""
    secret = tmp_path / "secret.txt"
    secret.write_text(marker)
    return secret


def xxe_reply(secret: Path, *, report_id: int | None = None) -> bytes:
    """A ``reportResponse`` whose description is the file's content, if a parser resolved the entity."""
    extra = f"<reportId>{report_id}</reportId>" if report_id is not None else ""
    return (
        f'<?xml version="1.0"?><!DOCTYPE reportResponse [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<reportResponse><responseCode>0</responseCode><responseDescription>&x;</responseDescription>"
        f"{extra}</reportResponse>"
    ).encode()


def xxe_document(secret: Path) -> bytes:
    """A ``report`` whose additional info is the file's content, if a parser resolved the entity."""
    return (
        f'<?xml version="1.0"?><!DOCTYPE report [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<report><additionalInfo>&xxe;</additionalInfo></report>"
    ).encode()
