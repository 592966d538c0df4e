"""Run storage side effects only once the database transaction's fate is known.

The blob store is not transactional. Writing a new object happens before the row
that references it, so a rollback must remove the object again; deleting a purged
object must wait until the commit that drops its row, or a rollback would leave a
row whose object is gone. Both are queued here against the session's outermost
transaction. A failed side effect leaves at worst an orphaned object whose data
key is gone (undecryptable), which `verify` lists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)
_KEY = "bastion.evidence.txhooks"

Callback = Callable[[], None]


def on_commit(session: Session, fn: Callback) -> None:
    """Call `fn` after the current outermost transaction commits; drop it if it rolls back."""
    _state(session)["commit"].append(fn)


def on_rollback(session: Session, fn: Callback) -> None:
    """Call `fn` if the current outermost transaction ends without committing."""
    _state(session)["rollback"].append(fn)


def _state(session: Session) -> dict[str, Any]:
    state = session.info.get(_KEY)
    if state is None:
        state = session.info[_KEY] = {"commit": [], "rollback": [], "committed": False}
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_transaction_end", _after_transaction_end)
    return state


def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is None:  # the outermost transaction, not a savepoint
        session.info[_KEY]["committed"] = True


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    state = session.info[_KEY]
    callbacks = state["commit"] if state["committed"] else state["rollback"]
    state["commit"], state["rollback"], state["committed"] = [], [], False
    for fn in callbacks:
        try:
            fn()
        except Exception:  # storage trouble must not turn a committed transaction into an error
            log.exception("evidence storage side effect failed; `bastion evidence verify` will list leftovers")
