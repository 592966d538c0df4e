"""Running a page's act: commit and go back, or roll back and go back with the refusal to show.

A typed refusal (`BastionError`) leaves nothing half-done and reaches the person as a sentence on
the page they came from (`?error=`), never as a bare error page.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from bastion.errors import BastionError


def act_and_return(db: Session, act: Callable[[], object], url: str, anchor: str = "") -> RedirectResponse:
    """Run `act`; 303 back to `url` (with `?error=` when it was refused), at `#anchor` if given."""
    fragment = f"#{anchor}" if anchor else ""
    try:
        act()
    except BastionError as exc:
        db.rollback()
        return RedirectResponse(f"{url}?error={quote(exc.message)}{fragment}", status_code=303)
    db.commit()
    return RedirectResponse(f"{url}{fragment}", status_code=303)
