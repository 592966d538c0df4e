"""What a case is about, and what a reviewer may classify its items as.

`csam` cases come from bank matches and classifier scores; confirmed ones feed the platform's own
bank and may be reported to NCMEC. `ncii` cases come from an individual's complaint under IT Rules
2021 Rule 3(2)(b) (intimate or morphed imagery of them): on a 24-hour clock, never reported to NCMEC,
never added to the CSAM bank. `other` covers the remaining complaint categories. All kinds get the
same wellness protections (blurred greyscale thumbnails, one reveal at a time, the daily cap).
"""

from __future__ import annotations

from bastion.cases.policy import CLASSIFICATIONS

KINDS = {"csam": "Child sexual abuse material", "ncii": "Intimate or morphed imagery (Rule 3(2)(b))",
         "other": "Other unlawful content"}
_CLASSES: dict[str, dict[str, str]] = {
    "csam": {c: c for c in CLASSIFICATIONS},
    "ncii": {"intimate": "Private area, nudity or a sexual act", "morphed": "Impersonation or a morphed image"},
    "other": {"illegal": "Unlawful content", "tos": "Against the platform's terms"},
}
#: Categories an item may carry (bank classifications, complaint categories) and the case kind each belongs to.
CATEGORY_KIND = {**{c: "csam" for c in CLASSIFICATIONS}, "csam": "csam", "ncii": "ncii", "impersonation": "ncii",
                 "illegal": "other", "tos": "other"}
#: Only these kinds go to NCMEC and into the platform's own hash bank.
REPORTABLE = frozenset({"csam"})


def classifications_of(kind: str) -> tuple[str, ...]:
    return tuple(_CLASSES.get(kind, _CLASSES["csam"]))


def classification_titles(kind: str) -> dict[str, str]:
    return dict(_CLASSES.get(kind, _CLASSES["csam"]))


def severity_order(kind: str) -> dict[str, int]:
    """Gravest first: for a case's overall classification."""
    return {c: n for n, c in enumerate(classifications_of(kind))}
