"""The five states every outbox row goes through, named by role and by the word its table stores.

    pending -> in flight -> done
                  |  \\-> retrying -> in flight ...
                  \\----> dead  (permanent refusal, or out of attempts; an operator may requeue)

Each queue stores its own words ("delivered" for an action, "sent" for mail), which
existing rows keep. `status_enum` builds a queue's enum with a member per role
(`PENDING`, `IN_FLIGHT`, `DONE`, `RETRYING`, `DEAD`) and, as an alias of the same member,
one named after the stored word (`ActionStatus.DELIVERED is ActionStatus.DONE`), so
shared code speaks of roles and a queue's own code keeps its words.
"""

from __future__ import annotations

from enum import StrEnum

ROLES = ("PENDING", "IN_FLIGHT", "DONE", "RETRYING", "DEAD")


def status_enum(name: str, *, in_flight: str, done: str, retrying: str, module: str) -> type[StrEnum]:
    """A queue's status enum; `module` is where it is defined (so it pickles and prints by that name)."""
    words = {"PENDING": "pending", "IN_FLIGHT": in_flight, "DONE": done, "RETRYING": retrying, "DEAD": "dead"}
    aliases = {word.upper(): word for word in words.values() if word.upper() not in words}
    enum: type[StrEnum] = StrEnum(name, [*words.items(), *aliases.items()], module=module)  # type: ignore[misc]
    enum.__doc__ = f"Where a row of {name.removesuffix('Status').lower()} is in its life (see bastion.outbox.status)."
    return enum
