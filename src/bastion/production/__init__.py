"""Signed production packages: what Bastion hands law enforcement, verifiable by anyone.

`build_package` turns an approved request's datasets and attachments into one ZIP with
a manifest of SHA-256 hashes, an Ed25519 signature over the manifest, and a custodian's
business-records certificate (PDF). `verify_package` checks a package as a recipient
would and names every altered, missing or extra file. `SigningKey` manages the key;
`public_key_document` is what the well-known URL serves. The format is specified in
docs/production-packages.md.
"""

from bastion.production.certificate import DEFAULT_DECLARATION, CertificateForm, CertificateInfo, FormPart
from bastion.production.config import ENV_SIGNING_KEY_FILE, ProductionConfig
from bastion.production.errors import (
    CertificateFontMissing,
    FileMissing,
    FileTampered,
    KeyFileError,
    PackageProblem,
    PackageUnreadable,
    ProductionError,
    SignatureInvalid,
    UnexpectedFile,
)
from bastion.production.keys import SigningKey, key_id_of, load_public_key, public_key_document
from bastion.production.package import Attachment, build_package, write_package
from bastion.production.verify import VerifyResult, verify_package

__all__ = [
    "Attachment",
    "DEFAULT_DECLARATION",
    "ENV_SIGNING_KEY_FILE",
    "ProductionConfig",
    "CertificateFontMissing",
    "CertificateForm",
    "CertificateInfo",
    "FileMissing",
    "FileTampered",
    "FormPart",
    "KeyFileError",
    "PackageProblem",
    "PackageUnreadable",
    "ProductionError",
    "SignatureInvalid",
    "SigningKey",
    "UnexpectedFile",
    "VerifyResult",
    "build_package",
    "write_package",
    "key_id_of",
    "load_public_key",
    "public_key_document",
    "verify_package",
]
