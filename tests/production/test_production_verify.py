"""Verification names what was altered: a data file, the manifest, an added or a removed file."""

from __future__ import annotations

import hashlib
import json

import pytest

from bastion.production import (
    FileMissing,
    FileTampered,
    PackageUnreadable,
    SignatureInvalid,
    SigningKey,
    UnexpectedFile,
    verify_package,
)
from tests.production.zips import members, rewrite, zipped


def test_an_altered_data_file_is_named(package: bytes, signer: SigningKey) -> None:
    def edit(files: dict[str, bytes]) -> None:
        files["data/ip_logins.csv"] = files["data/ip_logins.csv"].replace(b"203.0.113.7", b"203.0.113.8")

    result = verify_package(rewrite(package, edit), signer.public_key)
    assert not result.ok
    [problem] = result.problems
    assert isinstance(problem, FileTampered) and problem.name == "data/ip_logins.csv"
    assert "differs from the manifest" in problem.message
    with pytest.raises(FileTampered):
        result.raise_for_problems()


def test_a_grown_file_is_caught_without_reading_all_of_it(package: bytes, signer: SigningKey) -> None:
    def grow(files: dict[str, bytes]) -> None:
        files["attachments/preservation-letter.txt"] += b"\0" * 5_000_000

    [problem] = verify_package(rewrite(package, grow), signer.public_key).problems
    assert isinstance(problem, FileTampered) and "more than" in problem.message


def test_an_altered_manifest_fails_the_signature_and_nothing_else_is_trusted(package: bytes,
                                                                             signer: SigningKey) -> None:
    def edit(files: dict[str, bytes]) -> None:  # a careful forger also fixes the hash of the file they changed
        files["data/posts.json"] = files["data/posts.json"].replace(b"first post", b"FIRST POST")
        manifest = json.loads(files["manifest.json"])
        for entry in manifest["files"]:
            if entry["path"] == "data/posts.json":
                entry["sha256"] = hashlib.sha256(files["data/posts.json"]).hexdigest()
        files["manifest.json"] = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"

    result = verify_package(rewrite(package, edit), signer.public_key)
    [problem] = result.problems
    assert isinstance(problem, SignatureInvalid) and problem.name == "manifest.json"
    assert "altered" in problem.message and result.manifest is None and result.files_checked == 0


def test_an_extra_file_is_refused_and_a_missing_one_named(package: bytes, signer: SigningKey) -> None:
    def add(files: dict[str, bytes]) -> None:
        files["data/messages.json"] = b"[]"

    [extra] = verify_package(rewrite(package, add), signer.public_key).problems
    assert isinstance(extra, UnexpectedFile) and extra.name == "data/messages.json"

    def remove(files: dict[str, bytes]) -> None:
        del files["certificate.pdf"]

    [missing] = verify_package(rewrite(package, remove), signer.public_key).problems
    assert isinstance(missing, FileMissing) and missing.name == "certificate.pdf"

    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile writes it, with a warning
        twice = zipped([*members(package).items(), ("data/posts.csv", b"id\r\n666\r\n")])
    [duplicate] = verify_package(twice, signer.public_key).problems
    assert isinstance(duplicate, UnexpectedFile) and "appears 2 times" in duplicate.message


def test_another_signers_key_does_not_verify(package: bytes) -> None:
    other = SigningKey.generate()
    [problem] = verify_package(package, other.public_pem).problems
    assert isinstance(problem, SignatureInvalid) and f"you checked with key {other.key_id}" in problem.message


def test_what_is_not_a_package_is_unreadable(package: bytes, signer: SigningKey) -> None:
    [problem] = verify_package(b"PK\x03\x04 not really", signer.public_key).problems
    assert isinstance(problem, PackageUnreadable)
    [problem] = verify_package(package[: len(package) // 2], signer.public_key).problems
    assert isinstance(problem, PackageUnreadable)

    def unsign(files: dict[str, bytes]) -> None:
        del files["manifest.sig"]

    [problem] = verify_package(rewrite(package, unsign), signer.public_key).problems
    assert isinstance(problem, FileMissing) and problem.name == "manifest.sig"
