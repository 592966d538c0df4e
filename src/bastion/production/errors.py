"""Typed errors of production packages.

Verification problems are values as well as exceptions: `verify_package` collects every
problem it finds (so an operator sees all tampered files at once, not the first) and
`VerifyResult.raise_for_problems` raises the first for callers that want an exception.
Each problem names the file it is about.
"""

from __future__ import annotations

from bastion.errors import BastionError


class ProductionError(BastionError):
    code = "production_error"
    status = 422


class KeyFileError(ProductionError):
    """A signing or public key file is missing, unreadable or not an Ed25519 key."""

    code = "production_key"


class CertificateFontMissing(ProductionError):
    """The certificate needs characters no installed font has."""

    code = "production_certificate_font"


class PackageProblem(ProductionError):
    """Something about a package that means it must not be trusted. `name`: the file concerned."""

    code = "package_invalid"

    def __init__(self, message: str, *, name: str | None = None) -> None:
        super().__init__(message, name=name)
        self.name = name


class PackageUnreadable(PackageProblem):
    """Not a ZIP, or its manifest is not one this version understands."""

    code = "package_unreadable"


class SignatureInvalid(PackageProblem):
    """manifest.sig does not verify manifest.json under the given key: nothing in it can be trusted."""

    code = "package_signature_invalid"


class FileTampered(PackageProblem):
    """A file's size or SHA-256 differs from what the signed manifest says."""

    code = "package_file_tampered"


class FileMissing(PackageProblem):
    """A file the manifest lists is not in the package."""

    code = "package_file_missing"


class UnexpectedFile(PackageProblem):
    """The package holds a file the manifest does not list (or holds a name twice)."""

    code = "package_unexpected_file"
