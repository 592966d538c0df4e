"""Which permission each kind of legal work needs (one place, so the web layer and the lead agree).

The permissions themselves live in `bastion.auth.permissions` (LEGAL_READ: legal, compliance,
admin; LEGAL_MANAGE and LEGAL_APPROVE: legal; OFFICER_PORTAL: officer). All are `SENSITIVE`.
"""

from __future__ import annotations

from bastion.auth.permissions import Perm

#: Seeing the desk: request list, request pages, directory, catalogue, timeline.
READ = Perm.LEGAL_READ
#: Working requests: intake, edits, assignment, call-backs, decisions, collection, production, directory and
#: catalogue edits. Collected data (user data) is shown only to this permission, not to oversight roles.
MANAGE = Perm.LEGAL_MANAGE
#: The second pair of eyes on a disclosure.
APPROVE = Perm.LEGAL_APPROVE
#: The officer portal (the lead's pages call `bastion.legal.portal`).
PORTAL = Perm.OFFICER_PORTAL
