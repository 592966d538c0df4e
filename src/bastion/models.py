"""Imports every domain's tables so that `Base.metadata` is complete.

Alembic's environment and the test fixtures import this module; domain code never
needs to (each domain imports its own models).
"""

from bastion.actions import models as _actions  # noqa: F401
from bastion.appeals import models as _appeals  # noqa: F401
from bastion.audit import models as _audit  # noqa: F401
from bastion.authorities import models as _authorities  # noqa: F401
from bastion.auth import models as _auth  # noqa: F401
from bastion.banks import models as _banks  # noqa: F401
from bastion.batchscan import models as _batchscan  # noqa: F401
from bastion.broker import models as _broker  # noqa: F401
from bastion.cases import models as _cases  # noqa: F401
from bastion.dsa import models as _dsa  # noqa: F401
from bastion.evidence import models as _evidence  # noqa: F401
from bastion.exchanges import models as _exchanges  # noqa: F401
from bastion.grievances import models as _grievances  # noqa: F401
from bastion.jobs import models as _jobs  # noqa: F401
from bastion.legal import models as _legal  # noqa: F401
from bastion.ncmec import tables as _ncmec  # noqa: F401
from bastion.notices import models as _notices  # noqa: F401
from bastion.mail import models as _mail  # noqa: F401
from bastion.orgsettings import models as _orgsettings  # noqa: F401
from bastion.reports import models as _reports  # noqa: F401
from bastion.scanning import models as _scanning  # noqa: F401
from bastion.timers import models as _timers  # noqa: F401
