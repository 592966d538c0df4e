"""The legal request desk: intake, verification, clocks, review, preservation, collection, production, notice.

Other code calls the service modules (`intake`, `verification`, `review`, `preservation`,
`collection`, `produce`, `notice`, `portal`, `catalogue`, `directory`) and never these tables.
Importing the package registers its org settings and its timer tasks.
"""

from bastion.legal import clocks as _clocks  # noqa: F401  (legal.reminder, legal.breach)
from bastion.legal import notice as _notice  # noqa: F401  (legal.ndo_expired)
from bastion.legal import preservation as _preservation  # noqa: F401  (legal.preserve and its expiry tasks)
from bastion.legal import removal as _removal  # noqa: F401  (legal.removal_sync)
from bastion.legal import resolution as _resolution  # noqa: F401  (legal.resolve)
from bastion.legal import settings as _settings  # noqa: F401  (registers org settings)
from bastion.legal.schemas import AccountIn, RequestInput, RequestUpdate

__all__ = ["AccountIn", "RequestInput", "RequestUpdate"]
