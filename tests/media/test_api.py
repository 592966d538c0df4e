"""hash_media / hash_file, digests, signal-type validators and PDQ conversions."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bastion.media import (
    DIHEDRAL_VARIANTS,
    HEX_LENGTHS,
    MD5,
    PDQ,
    SHA1,
    SHA256,
    InvalidHash,
    MediaError,
    compute_digests,
    hamming_distance,
    hash_file,
    hash_media,
    pdq_array_to_hex,
    pdq_bytes_to_hex,
    pdq_dihedral,
    pdq_hex_to_array,
    pdq_hex_to_bytes,
    validate_hash,
    validate_md5,
    validate_pdq,
    validate_sha1,
    validate_sha256,
)

from ._images import encode, reference_pdq, skimage_photo

PNG = encode(skimage_photo("coffee"), "PNG")
SOME_PDQ = "2d6f1af3a956c529c79ca3d2526fa834d4196c81cedd04de0a26b855fc99b724"


def test_hash_media_reports_everything() -> None:
    hashes = hash_media(PNG)

    assert hashes.md5 == hashlib.md5(PNG).hexdigest()
    assert hashes.sha1 == hashlib.sha1(PNG).hexdigest()
    assert hashes.sha256 == hashlib.sha256(PNG).hexdigest()
    assert (hashes.pdq, hashes.pdq_quality) == reference_pdq(PNG)
    assert (hashes.width, hashes.height, hashes.format, hashes.mode) == (
        600,
        400,
        "PNG",
        "RGB",
    )
    assert (hashes.animated, hashes.frame_count, hashes.dihedral) == (False, 1, None)
    assert hashes.signals() == {
        PDQ: hashes.pdq,
        MD5: hashes.md5,
        SHA1: hashes.sha1,
        SHA256: hashes.sha256,
    }


def test_hash_media_with_dihedral_variants() -> None:
    hashes = hash_media(PNG, dihedral=True)

    assert hashes.dihedral == pdq_dihedral(skimage_photo("coffee")).hashes
    assert len(DIHEDRAL_VARIANTS) == len(hashes.dihedral) == 8
    assert hashes.dihedral[0] == hashes.pdq == hash_media(PNG).pdq


def test_results_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        hash_media(PNG).pdq = SOME_PDQ  # type: ignore[misc]


def test_hash_file_equals_hash_media(tmp_path: Path) -> None:
    path = tmp_path / "coffee.png"
    path.write_bytes(PNG)

    assert hash_file(path) == hash_media(PNG)
    assert hash_file(str(path), dihedral=True) == hash_media(PNG, dihedral=True)


def test_hash_file_lets_os_errors_through(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "missing.png")


@pytest.mark.parametrize("chunk_size", [1, 7, 4096, 1 << 20])
def test_digests_stream_a_file_object(chunk_size: int) -> None:
    expected = compute_digests(PNG)

    assert compute_digests(io.BytesIO(PNG), chunk_size=chunk_size) == expected
    assert (
        compute_digests(memoryview(PNG)) == compute_digests(bytearray(PNG)) == expected
    )
    assert expected.sha256 == hashlib.sha256(PNG).hexdigest()


def test_digests_of_nothing() -> None:
    assert compute_digests(b"").md5 == "d41d8cd98f00b204e9800998ecf8427e"


def test_signal_type_names_match_threatexchange() -> None:
    assert (PDQ, MD5, SHA1, SHA256) == ("pdq", "md5", "sha1", "sha256")
    assert dict(HEX_LENGTHS) == {"pdq": 64, "md5": 32, "sha1": 40, "sha256": 64}


@pytest.mark.parametrize(
    ("validate", "value"),
    [
        (validate_md5, hashlib.md5(b"x").hexdigest()),
        (validate_sha1, hashlib.sha1(b"x").hexdigest()),
        (validate_sha256, hashlib.sha256(b"x").hexdigest()),
        (validate_pdq, SOME_PDQ),
    ],
)
def test_validators_normalise_case_and_whitespace(
    validate: Callable[[object], str], value: str
) -> None:
    assert validate(f"  {value.upper()}\n") == value


@pytest.mark.parametrize(
    "value",
    [
        SOME_PDQ[:-1],
        SOME_PDQ + "0",
        "g" + SOME_PDQ[1:],
        SOME_PDQ[:32] + " " + SOME_PDQ[33:],
        "",
        None,
        42,
        SOME_PDQ.encode(),
    ],
    ids=["short", "long", "non-hex", "inner-space", "empty", "none", "int", "bytes"],
)
def test_invalid_pdq_names_the_value(value: object) -> None:
    with pytest.raises(InvalidHash) as caught:
        validate_pdq(value)

    error = caught.value
    assert isinstance(error, MediaError)
    assert isinstance(error, ValueError)
    assert (error.code, error.signal_type, error.value) == (
        "invalid_hash",
        "pdq",
        value,
    )
    assert repr(value)[:40] in error.message
    assert "64 hexadecimal" in error.message


def test_invalid_hash_message_stays_short_for_huge_values() -> None:
    with pytest.raises(InvalidHash) as caught:
        validate_md5("a" * 100_000)

    assert len(caught.value.message) < 300


@pytest.mark.parametrize("signal_type", ["md5", "sha1", "sha256"])
def test_digest_validators_reject_wrong_lengths(signal_type: str) -> None:
    with pytest.raises(InvalidHash, match=signal_type):
        validate_hash(signal_type, "ab" * 33)


def test_unknown_signal_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Unknown signal type 'video_md5'"):
        validate_hash("video_md5", "00")


def test_pdq_conversions_round_trip() -> None:
    raw = pdq_hex_to_bytes(SOME_PDQ.upper())
    array = pdq_hex_to_array(SOME_PDQ)

    assert raw == bytes.fromhex(SOME_PDQ)
    assert (array.dtype, array.shape, array.flags.writeable) == (np.uint8, (32,), True)
    assert pdq_bytes_to_hex(raw) == pdq_array_to_hex(array) == SOME_PDQ


@pytest.mark.parametrize(
    "bad",
    [np.zeros(31, np.uint8), np.zeros(32, np.int64), np.zeros((2, 32), np.uint8)],
    ids=["short", "wrong-dtype", "batch"],
)
def test_pdq_array_to_hex_rejects_other_shapes(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8"):
        pdq_array_to_hex(bad)


def test_pdq_bytes_to_hex_rejects_other_lengths() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        pdq_bytes_to_hex(b"\x00" * 31)


def test_hamming_distance() -> None:
    zero, ones = "0" * 64, "f" * 64
    one_bit = "8" + "0" * 63

    assert hamming_distance(zero, ones) == 256
    assert hamming_distance(zero, one_bit) == 1
    assert hamming_distance(SOME_PDQ, SOME_PDQ.upper()) == 0
    with pytest.raises(InvalidHash):
        hamming_distance(zero, "xyz")
