"""Reports to the authorities the law names beyond NCMEC: which destinations a confirmed case needs,
and the signed packages for those reached by upload or letter (India's POCSO Rule 11 first).

The registry of destinations is catalogue data (`destinations.json`, cited, with an as-of date);
`reports.jurisdictions` says which jurisdictions' duties the platform carries.
"""

from __future__ import annotations

from bastion.orgsettings.store import register

JURISDICTIONS = "reports.jurisdictions"

register(JURISDICTIONS, str, "US IN",
         "Jurisdictions whose reporting duties the platform carries (space-separated codes, e.g. 'US IN GB'): a "
         "confirmed case shows every destination they require and whether each is done.")
