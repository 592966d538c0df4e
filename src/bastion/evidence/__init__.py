"""The evidence vault: encrypted, content-addressed storage with chain of custody, retention and legal holds.

Other domains call `Vault` (preserve, open, export, record_disclosure, custody,
apply_retention, place_hold, release_hold) and never these tables. Importing the
package registers the `evidence.purge` task that purge timers run.
"""

from bastion.evidence import tasks as _tasks  # noqa: F401  (registers evidence.purge)
from bastion.evidence.config import VaultConfig
from bastion.evidence.errors import (
    BlobMissing,
    EvidenceNotFound,
    EvidencePurged,
    HeldEvidence,
    HoldNotFound,
    InvalidEvidence,
    PolicyNotFound,
    RetentionActive,
    TamperedEvidence,
    VaultKeyError,
)
from bastion.evidence.keys import KeyRing, MasterKey
from bastion.evidence.models import (
    CustodyEvent,
    EvidenceItem,
    LegalHold,
    RetentionApplied,
    RetentionPolicy,
)
from bastion.evidence.purge import PurgeReport
from bastion.evidence.schedule import PURGE_TASK
from bastion.evidence.store import BlobStore, FsspecBlobStore
from bastion.evidence.vault import KINDS, ExportedEvidence, ExportedStream, RotationReport, Vault
from bastion.evidence.verify import Problem, VerifyReport

__all__ = [
    "KINDS", "PURGE_TASK", "BlobMissing", "BlobStore", "CustodyEvent", "EvidenceItem", "EvidenceNotFound",
    "EvidencePurged", "ExportedEvidence", "ExportedStream", "FsspecBlobStore", "HeldEvidence", "HoldNotFound", "InvalidEvidence",
    "KeyRing", "LegalHold", "MasterKey", "PolicyNotFound", "Problem", "PurgeReport", "RetentionActive",
    "RetentionApplied", "RetentionPolicy", "RotationReport", "TamperedEvidence", "Vault", "VaultConfig",
    "VaultKeyError", "VerifyReport",
]
