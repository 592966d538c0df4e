"""Is this process's vault the one every other process writes to?

Scaled out, every API replica and worker must open the same blob store with the same master keys:
a replica given its own local directory, or a key file from another deployment, would seal new
evidence where no other process can open it, and fail on every item the others preserved. Nothing
in the configuration itself can tell; the records can. The newest objects the database knows must
be in this process's store, and every key the records name must be in this process's key ring.
Servers check at start and show what they found on the operations page; `bastion evidence check`
runs the same check by hand.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.evidence.errors import BlobMissing, VaultKeyError
from bastion.evidence.models import EvidenceBlob
from bastion.evidence.vault import Vault

#: Newest objects probed: enough to catch a replica with its own store, cheap on S3 (one HEAD each).
SAMPLE = 3
PROBLEMS_SERVICE = "evidence.shared_problems"


def check_shared(session: Session, vault: Vault, *, sample: int = SAMPLE) -> list[str]:
    """What is wrong, in words an operator can act on; an empty list when this vault is the shared one."""
    problems = []
    for key_id in session.scalars(select(EvidenceBlob.key_id).distinct().order_by(EvidenceBlob.key_id)):
        try:
            vault.keys.get(key_id)
        except VaultKeyError as exc:
            problems.append(str(exc))
    for blob in session.scalars(select(EvidenceBlob).order_by(EvidenceBlob.id.desc()).limit(sample)):
        try:
            vault.store.open_read(blob.object_key).close()
        except BlobMissing:
            problems.append(
                f"Evidence object {blob.object_key} (sealed {blob.created_at:%Y-%m-%d %H:%M} UTC) is recorded in the "
                f"database but is not in this process's blob store ({vault.store.describe()}). Every server and "
                "worker must use the same BASTION_EVIDENCE_STORE_URL and the same master key files.")
    return problems
