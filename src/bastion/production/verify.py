"""Checking a production package the way a recipient would.

Order matters. The signature is checked first, over the manifest's exact bytes: if it
fails, nothing the manifest says can be trusted, so no file is compared against it.
Then every listed file is hashed and compared (streamed, and never read past the size
the manifest promises, so a ZIP bomb costs nothing), and every file the manifest does
not list is refused: an added file could be read as part of the production.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bastion.production import layout
from bastion.production.errors import (
    FileMissing,
    FileTampered,
    PackageProblem,
    PackageUnreadable,
    SignatureInvalid,
    UnexpectedFile,
)
from bastion.production.keys import SigningKey, key_id_of, load_public_key

MAX_MANIFEST = 16 * 1024 * 1024
_CHUNK = 1024 * 1024
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError)


@dataclass(frozen=True)
class VerifyResult:
    """What verification found. `ok` only when the signature holds and every file matches."""

    problems: tuple[PackageProblem, ...]
    files_checked: int
    key_id: str
    manifest: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def package_id(self) -> str | None:
        return None if self.manifest is None else self.manifest.get("package_id")

    def raise_for_problems(self) -> VerifyResult:
        """Raise the first problem (a typed `PackageProblem`), or return self."""
        if self.problems:
            raise self.problems[0]
        return self


def verify_package(package: bytes | IO[bytes], public_key: Ed25519PublicKey | SigningKey | str | bytes) -> VerifyResult:
    """Check the signature, every file's size and SHA-256, and that no file is missing or extra."""
    key = load_public_key(public_key)
    key_id = key_id_of(key)
    try:
        archive = zipfile.ZipFile(io.BytesIO(package) if isinstance(package, (bytes, bytearray)) else package)
    except (zipfile.BadZipFile, OSError):
        return _failed(PackageUnreadable("This is not a ZIP file."), key_id=key_id)
    with archive:
        return _verify(archive, key, key_id)


def _verify(archive: zipfile.ZipFile, key: Ed25519PublicKey, key_id: str) -> VerifyResult:
    names = Counter(archive.namelist())
    twice = [UnexpectedFile(f"{name}: appears {count} times in the ZIP (a reader may see either copy).", name=name)
             for name, count in sorted(names.items()) if count > 1]
    if twice:
        return _failed(*twice, key_id=key_id)
    for required in (layout.MANIFEST, layout.SIGNATURE):
        if required not in names:
            return _failed(FileMissing(f"{required} is missing: the package cannot be verified.", name=required),
                           key_id=key_id)
    try:
        signed, signature = _read(archive, layout.MANIFEST, MAX_MANIFEST), _read(archive, layout.SIGNATURE, 64)
    except _READ_ERRORS as exc:
        problem = PackageUnreadable(f"The manifest cannot be read: {exc}.", name=layout.MANIFEST)
        return _failed(problem, key_id=key_id)
    forged = _check_signature(key, key_id, signed, signature)
    if forged is not None:
        return _failed(forged, key_id=key_id)
    try:
        manifest = _parse(signed)
    except PackageUnreadable as exc:
        return _failed(exc, key_id=key_id)
    listed = {entry["path"]: entry for entry in manifest["files"]}
    problems: list[PackageProblem] = [p for entry in manifest["files"] if (p := _check_file(archive, entry, names))]
    problems += [UnexpectedFile(f"{name}: not listed in the signed manifest; do not rely on it.", name=name)
                 for name in sorted(names) if name not in listed and name not in layout.UNLISTED]
    return VerifyResult(tuple(problems), len(listed), key_id, manifest)


def _check_signature(key: Ed25519PublicKey, key_id: str, signed: bytes, signature: bytes) -> SignatureInvalid | None:
    try:
        key.verify(signature, signed)
        return None
    except InvalidSignature:
        pass
    claimed = _claimed_key_id(signed)
    why = (f"it names key {claimed}, and you checked with key {key_id}" if claimed and claimed != key_id
           else "manifest.json or manifest.sig was altered")
    return SignatureInvalid(f"The signature does not verify ({why}); trust nothing in this package.",
                            name=layout.MANIFEST)


def _check_file(archive: zipfile.ZipFile, entry: dict[str, Any], names: Counter[str]) -> PackageProblem | None:
    path, size, expected = entry["path"], entry["size"], entry["sha256"]
    if path not in names:
        return FileMissing(f"{path}: listed in the manifest but not in the package.", name=path)
    try:
        data_hash, actual_size = _hash(archive, path, limit=size)
    except _READ_ERRORS as exc:
        return FileTampered(f"{path}: cannot be read ({type(exc).__name__}); it was altered or damaged.", name=path)
    if actual_size != size:
        found = f"more than {size}" if actual_size > size else str(actual_size)
        return FileTampered(f"{path}: {found} bytes where the manifest says {size}; the file was altered.", name=path)
    if data_hash != expected:
        return FileTampered(f"{path}: SHA-256 {data_hash} differs from the manifest's {expected}; the file was "
                            "altered.", name=path)
    return None


def _parse(signed: bytes) -> dict[str, Any]:
    """The manifest, checked for the shape this version writes (it is signed, so this only catches our bugs
    or a future format)."""
    try:
        manifest = json.loads(signed)
    except (UnicodeDecodeError, ValueError):
        raise PackageUnreadable("manifest.json is not JSON.", name=layout.MANIFEST) from None
    if not isinstance(manifest, dict) or manifest.get("format") != layout.FORMAT:
        raise PackageUnreadable("manifest.json is not a Bastion production manifest.", name=layout.MANIFEST)
    if manifest.get("format_version") != layout.FORMAT_VERSION:
        raise PackageUnreadable(f"Manifest format version {manifest.get('format_version')} is not supported "
                                f"(this verifier reads version {layout.FORMAT_VERSION}).", name=layout.MANIFEST)
    files = manifest.get("files")
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and isinstance(f.get("path"), str) and isinstance(f.get("size"), int)
        and isinstance(f.get("sha256"), str) for f in files
    ) or len({f["path"] for f in files}) != len(files):
        raise PackageUnreadable("manifest.json has a malformed file list.", name=layout.MANIFEST)
    return manifest


def _claimed_key_id(signed: bytes) -> str | None:
    try:
        value = json.loads(signed).get("key_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _read(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    with archive.open(name) as handle:
        return handle.read(limit + 1)


def _hash(archive: zipfile.ZipFile, name: str, *, limit: int) -> tuple[str, int]:
    """SHA-256 and size of a member, reading at most `limit + 1` bytes (enough to tell it is too long)."""
    digest, size = hashlib.sha256(), 0
    with archive.open(name) as handle:
        while size <= limit:
            chunk = handle.read(min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _failed(*problems: PackageProblem, key_id: str) -> VerifyResult:
    return VerifyResult(tuple(problems), 0, key_id, None)
