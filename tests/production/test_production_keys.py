"""The signing key on disk, its id, and the document the well-known URL serves."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bastion.production import KeyFileError, SigningKey, load_public_key, public_key_document


def test_a_key_is_written_owner_only_and_reads_back_the_same(tmp_path: Path) -> None:
    key = SigningKey.generate()
    path = tmp_path / "keys" / "production-signing.pem"
    key.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    loaded = SigningKey.load(path)
    assert (loaded.key_id, loaded.public_pem) == (key.key_id, key.public_pem)
    assert loaded.sign(b"x") == key.sign(b"x")  # Ed25519 is deterministic
    with pytest.raises(FileExistsError):
        SigningKey.generate().save(path)  # never overwritten
    assert SigningKey.load_or_create(path).key_id == key.key_id
    fresh = SigningKey.load_or_create(tmp_path / "new.pem")
    assert SigningKey.load(tmp_path / "new.pem").key_id == fresh.key_id
    assert "PRIVATE" not in repr(key) and key.key_id in repr(key)


def test_what_is_not_an_ed25519_key_is_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="No production signing key"):
        SigningKey.load(tmp_path / "absent.pem")
    other = tmp_path / "ec.pem"
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(KeyFileError, match="Ed25519"):
        SigningKey.load(other)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello")
    with pytest.raises(KeyFileError, match="not an unencrypted PEM"):
        SigningKey.load(garbage)
    with pytest.raises(KeyFileError, match="already exists|not an unencrypted"):
        SigningKey.load_or_create(garbage)  # a broken key file is never replaced silently
    with pytest.raises(KeyFileError, match="BEGIN PUBLIC KEY"):
        load_public_key("not a key")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_the_key_id_is_what_openssl_computes_from_the_pem(tmp_path: Path) -> None:
    key = SigningKey.generate()
    (tmp_path / "public.pem").write_text(key.public_pem)
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(tmp_path / "public.pem"), "-outform", "DER"],
                         check=True, capture_output=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256"], input=der, check=True, capture_output=True).stdout
    assert digest.decode().split()[-1][:32] == key.key_id


def test_the_public_key_document_carries_the_pem_and_its_id() -> None:
    key, old = SigningKey.generate(), SigningKey.generate()
    document = public_key_document(key, previous=(old.public_key,))
    assert document["algorithm"] == "Ed25519" and document["key_id"] == key.key_id
    assert document["public_key_pem"] == key.public_pem and "PRIVATE" not in str(document)
    assert document["previous_keys"] == [{"key_id": old.key_id, "public_key_pem": old.public_pem}]
    assert load_public_key(str(document["public_key_pem"])).public_bytes_raw() == key.public_key.public_bytes_raw()
