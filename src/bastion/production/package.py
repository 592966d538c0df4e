"""Building a signed production package: the answer to a law-enforcement request, as one ZIP.

    manifest.json        what was asked, what was approved, every file with its SHA-256 and size
    manifest.sig         Ed25519 signature over the exact bytes of manifest.json (64 raw bytes)
    certificate.pdf      the custodian's business-records certificate, listing the same hashes
    data/<name>.json     each dataset, exactly
    data/<name>.csv      each dataset, for a spreadsheet
    attachments/<name>   anything else produced (documents, exported media)

Signing the manifest, and listing every other file's hash in it, signs the whole package
in a way a recipient can check with OpenSSL alone. A dataset outside the approved
categories is refused: over-disclosure is the failure this package must never carry.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import bastion
from bastion.clock import Clock, SystemClock
from bastion.errors import InvalidInput
from bastion.production import layout
from bastion.production.certificate import CertificateInfo, CertifiedFile, render_certificate
from bastion.production.datasets import check_records, to_csv, to_json
from bastion.production.keys import SigningKey

MAX_ATTACHMENTS = 1000
COPY_BYTES = 256 * 1024  # a streamed attachment is hashed and copied this much at a time

#: An attachment's content: bytes, or a seekable binary reader (a video from the vault) that is
#: read twice, once to hash it for the manifest and once into the ZIP, never whole in memory.
Attachment = bytes | IO[bytes]


@dataclass(frozen=True)
class _File:
    path: str
    data: bytes | None
    media_type: str
    role: str
    extra: Mapping[str, Any]
    source: IO[bytes] | None = None
    size: int = field(default=-1)
    sha256: str = ""

    @classmethod
    def of(cls, path: str, data: bytes, media_type: str, role: str, extra: Mapping[str, Any]) -> _File:
        return cls(path, data, media_type, role, extra, None, len(data), hashlib.sha256(data).hexdigest())

    @classmethod
    def streamed(cls, path: str, source: IO[bytes], media_type: str, role: str) -> _File:
        source.seek(0)
        digest, size = hashlib.sha256(), 0
        while piece := source.read(COPY_BYTES):
            digest.update(piece)
            size += len(piece)
        return cls(path, None, media_type, role, {}, source, size, digest.hexdigest())

    def entry(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256,
                "media_type": self.media_type, "role": self.role, **self.extra}


def build_package(
    request: Mapping[str, Any],
    scope: Mapping[str, Any],
    datasets: Mapping[str, Sequence[Mapping[str, Any]]],
    attachments: Sequence[tuple[str, Attachment]],
    signer: SigningKey,
    certificate: CertificateInfo,
    *,
    clock: Clock | None = None,
) -> bytes:
    """The signed package as ZIP bytes; see `write_package`."""
    buffer = io.BytesIO()
    write_package(buffer, request, scope, datasets, attachments, signer, certificate, clock=clock)
    return buffer.getvalue()


def write_package(
    out: IO[bytes],
    request: Mapping[str, Any],
    scope: Mapping[str, Any],
    datasets: Mapping[str, Sequence[Mapping[str, Any]]],
    attachments: Sequence[tuple[str, Attachment]],
    signer: SigningKey,
    certificate: CertificateInfo,
    *,
    clock: Clock | None = None,
) -> None:
    """Write the signed package, as a ZIP, to `out` (a file: a package with video is written, not held).

    `request`: a JSON summary of the request (its "reference", if present, is printed on
    the certificate). `scope`: what was approved: "categories" (required; every dataset
    name must be one of them), and by convention "date_range" and "accounts". `datasets`:
    category name -> records (an empty list says "searched, nothing found").
    """
    created_at = (clock or SystemClock()).now().astimezone(UTC)
    request_doc, scope_doc = _json_object("request", request), _json_object("scope", scope)
    approved = _approved_categories(scope_doc)
    files = [*_dataset_files(datasets, approved), *_attachment_files(attachments)]
    package_id = uuid.uuid4().hex
    pdf = render_certificate(
        certificate, [CertifiedFile(f.path, f.size, f.sha256) for f in files],
        package_id=package_id, created_at=created_at, key_id=signer.key_id,
        request_reference=str(request_doc.get("reference", "")), scope_lines=_scope_lines(scope_doc),
        generator=f"Bastion {bastion.__version__}",
    )
    files.insert(0, _File.of(layout.CERTIFICATE, pdf, "application/pdf", "certificate", {}))
    manifest = {
        "format": layout.FORMAT,
        "format_version": layout.FORMAT_VERSION,
        "package_id": package_id,
        "created_at": created_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "generator": {"name": "bastion", "version": bastion.__version__},
        "key_id": signer.key_id,
        "signature": {"algorithm": "Ed25519", "file": layout.SIGNATURE, "covers": f"the exact bytes of {layout.MANIFEST}"},
        "request": request_doc,
        "scope": scope_doc,
        "certificate": _certificate_summary(certificate),
        "files": [f.entry() for f in files],
    }
    signed = layout.manifest_bytes(manifest)
    _zip(out, created_at, [_File.of(layout.MANIFEST, signed, "", "", {}),
                           _File.of(layout.SIGNATURE, signer.sign(signed), "", "", {}), *files])


def _certificate_summary(certificate: CertificateInfo) -> dict[str, Any]:
    """What the manifest says about the certificate (and, with a catalogue form, which form and who signs it)."""
    summary: dict[str, Any] = {"custodian": certificate.custodian_name, "title": certificate.custodian_title,
                               "organisation": certificate.organisation,
                               "statement_date": certificate.statement_date.isoformat()}
    if certificate.form is not None:
        summary["form"] = {"key": certificate.form.key, "citation": certificate.form.citation,
                           "as_of": certificate.form.as_of.isoformat(),
                           "parts": [p.heading or p.signatory for p in certificate.form.parts]}
        if any(p.signatory == "expert" for p in certificate.form.parts):
            summary["expert"] = {"name": certificate.expert_name, "title": certificate.expert_title}
    return summary


def _dataset_files(datasets: Mapping[str, Sequence[Mapping[str, Any]]], approved: set[str]) -> list[_File]:
    outside = sorted(set(datasets) - approved)
    if outside:
        raise InvalidInput(f"Dataset(s) {', '.join(map(repr, outside))} are not in the approved scope "
                           f"({', '.join(sorted(approved))}); nothing outside it may be produced.")
    files = []
    for name in sorted(datasets):
        records = check_records(name, datasets[name])
        extra = {"dataset": name, "records": len(records)}
        files.append(_File.of(f"{layout.DATA_DIR}{name}.json", to_json(records), "application/json", "dataset", extra))
        files.append(_File.of(f"{layout.DATA_DIR}{name}.csv", to_csv(records), "text/csv", "dataset", extra))
    return files


def _attachment_files(attachments: Sequence[tuple[str, Attachment]]) -> list[_File]:
    if len(attachments) > MAX_ATTACHMENTS:
        raise InvalidInput(f"A package holds at most {MAX_ATTACHMENTS} attachments.")
    seen: set[str] = set()
    files = []
    for name, data in attachments:
        if (not isinstance(name, str) or len(name) > layout.MAX_NAME or ".." in name
                or not layout.ATTACHMENT_NAME.fullmatch(name)):
            raise InvalidInput(f"Attachment name {name!r} must be A-Z a-z 0-9 . _ - in at most four '/'-separated "
                               "parts, each starting with a letter or digit.")
        if name.lower() in seen:
            raise InvalidInput(f"Two attachments are named {name!r}.")
        seen.add(name.lower())
        path = f"{layout.ATTACHMENTS_DIR}{name}"
        if isinstance(data, (bytes, bytearray)):
            files.append(_File.of(path, bytes(data), "application/octet-stream", "attachment", {}))
        elif callable(getattr(data, "read", None)) and callable(getattr(data, "seek", None)):
            files.append(_File.streamed(path, data, "application/octet-stream", "attachment"))
        else:
            raise InvalidInput(f"Attachment {name!r} must be bytes or a seekable binary file.")
    return files


def _json_object(what: str, value: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise InvalidInput(f"The package's {what} must be a non-empty object.")
    try:
        plain: dict[str, Any] = json.loads(json.dumps(dict(value), allow_nan=False, default=_iso))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"The package's {what} must be plain JSON: {exc}.") from None
    return plain


def _approved_categories(scope: dict[str, Any]) -> set[str]:
    categories = scope.get("categories")
    if not isinstance(categories, list) or not categories or not all(isinstance(c, str) for c in categories):
        raise InvalidInput("The scope must list the approved data categories: {\"categories\": [\"subscriber\", ...]}.")
    return set(categories)


def _scope_lines(scope: dict[str, Any]) -> list[str]:
    lines = [f"Approved categories: {', '.join(scope['categories'])}"]
    if isinstance(scope.get("date_range"), dict):
        period = scope["date_range"]
        lines.append(f"Period: {period.get('start', '?')} to {period.get('end', '?')}")
    if isinstance(scope.get("accounts"), list):
        lines.append(f"Accounts: {', '.join(map(str, scope['accounts']))}")
    return lines


def _iso(value: Any) -> Any:
    if isinstance(value, datetime) or hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _zip(out: IO[bytes], created_at: datetime, members: list[_File]) -> None:
    """A plain ZIP whose entries carry the package's creation time.

    Bytes members are deflated. Streamed members (video) are stored as they are,
    copied in pieces: compressed video does not deflate, and the copy stays small.
    A streamed member that changed between hashing and copying is refused.
    """
    stamp = created_at.timetuple()[:6]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for member in members:
            info = zipfile.ZipInfo(member.path, date_time=stamp)
            info.external_attr = 0o644 << 16
            if member.source is None:
                assert member.data is not None
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, member.data)
                continue
            info.compress_type = zipfile.ZIP_STORED
            member.source.seek(0)
            digest = hashlib.sha256()
            with archive.open(info, "w", force_zip64=member.size >= zipfile.ZIP64_LIMIT) as target:
                while piece := member.source.read(COPY_BYTES):
                    digest.update(piece)
                    target.write(piece)
            if digest.hexdigest() != member.sha256:
                raise InvalidInput(f"Attachment {member.path} changed while the package was written; build it again.")
