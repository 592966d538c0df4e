"""Every stand-in's default loopback port, in one table, so no two services share one by accident.

`bastion serve --demo` starts its stand-ins in-process; `bastion dev …` starts one of them
alone. A standalone stand-in imitating the same service as a demo one may take its port (run
one or the other), but two different services never share a port: a test holds that.
"""

from __future__ import annotations

from typing import Final

#: service -> port. `demo_*` are started behind `bastion serve --demo`; the rest by `bastion dev …`.
PORTS: Final[dict[str, int]] = {
    "cybertipline": 8010,  # NCMEC's CyberTipline reporting API (demo and `dev ncmec`)
    "platform": 8020,  # the demo platform (demo and `dev platform`)
    "dsa_tdb": 8030,  # the DSA Transparency Database (demo)
    "dsa_tdb_standalone": 8032,  # the same, from `dev dsa`, beside a running demo
    "demo_list": 8040,  # the demo exchange's URL list (demo)
    "ncmec_hash_sharing": 8050,  # `dev exchanges`: NCMEC's hash-sharing API
    "url_list": 8051,  # `dev exchanges`: a URL list
    "stopncii": 8053,  # `dev exchanges`: StopNCII
    "threatexchange": 8054,  # `dev exchanges`: ThreatExchange's Graph API
    "tcap": 8055,  # `dev exchanges`: Tech Against Terrorism's TCAP
}
