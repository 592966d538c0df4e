"""The recipient's recipes in docs/production-packages.md work, on a good package and a tampered one."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from bastion.production import SigningKey
from tests.production.zips import rewrite

DOC = Path(__file__).resolve().parents[2] / "docs" / "production-packages.md"


def _tamper(package: bytes) -> bytes:
    def edit(files: dict[str, bytes]) -> None:
        files["data/subscriber.json"] = files["data/subscriber.json"].replace(b"rk@mail", b"xx@mail")

    return rewrite(package, edit)


def test_the_documented_python_script_verifies_and_names_the_altered_file(package: bytes, signer: SigningKey,
                                                                          tmp_path: Path) -> None:
    script = re.search(r"## Verifying with Python.*?```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert script, "the Python recipe is missing from the docs"
    (tmp_path / "verify_package.py").write_text(script.group(1))
    (tmp_path / "key.pem").write_text(signer.public_pem)
    (tmp_path / "good.zip").write_bytes(package)
    (tmp_path / "bad.zip").write_bytes(_tamper(package))
    (tmp_path / "extra.zip").write_bytes(rewrite(package, lambda files: files.update({"data/messages.json": b"[]"})))

    def run(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "verify_package.py", name, "key.pem"], check=False, cwd=tmp_path,
                              capture_output=True, text=True, timeout=30)

    good, bad = run("good.zip"), run("bad.zip")
    assert (good.returncode, good.stdout.strip()) == (0, "OK: signature valid, every file intact, nothing added"), good.stderr
    assert (bad.returncode, bad.stdout.strip()) == (1, "altered: data/subscriber.json")
    assert run("extra.zip").stdout.strip() == "not in the manifest: data/messages.json"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_alone_checks_the_signature_and_the_hashes(package: bytes, signer: SigningKey, tmp_path: Path) -> None:
    zipfile.ZipFile(BytesIO(package)).extractall(tmp_path / "pkg")
    (tmp_path / "key.pem").write_text(signer.public_pem)
    verify = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "../key.pem", "-rawin", "-in", "manifest.json",
              "-sigfile", "manifest.sig"]
    ok = subprocess.run(verify, check=False, cwd=tmp_path / "pkg", capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout
    if shutil.which("sha256sum"):
        sums = "".join(f"{line}\n" for line in _sha256sums(tmp_path / "pkg" / "manifest.json"))
        check = subprocess.run(["sha256sum", "-c", "-"], check=False, input=sums, cwd=tmp_path / "pkg", capture_output=True,
                               text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr

    manifest = tmp_path / "pkg" / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"LE-2026-0012"', b'"LE-2026-0013"'))
    forged = subprocess.run(verify, check=False, cwd=tmp_path / "pkg", capture_output=True, text=True, timeout=30)
    assert forged.returncode != 0


def _sha256sums(manifest: Path) -> list[str]:
    return [f"{entry['sha256']}  {entry['path']}" for entry in json.loads(manifest.read_bytes())["files"]]
