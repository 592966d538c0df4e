"""`bastion exchanges …`: add, list, fetch (now, in this process), pause, resume, credentials, delete.

Secrets are never arguments (they would land in shell history and process lists): a
password or token comes from BASTION_EXCHANGE_SECRET or a hidden prompt, or all
credentials from a JSON file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer

from bastion.cli.common import actor, clock, console, db_session, friendly_errors
from bastion.config import get_settings
from bastion.errors import InvalidInput
from bastion.exchanges import service
from bastion.exchanges.policy import fetch_policy
from bastion.exchanges.types import TYPES, get_type

exchanges_app = typer.Typer(help="Hash exchanges (NCMEC hash sharing, URL lists) that fill banks.",
                            no_args_is_help=True)
SECRET_ENV = "BASTION_EXCHANGE_SECRET"


def _pairs(items: list[str]) -> dict[str, str]:
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--set takes key=value, not {item!r}.")
        found[key.strip()] = value.strip()
    return found


def _credentials(api: str, settings: dict[str, Any], user: str | None, credentials_file: Path | None,
                 ask: bool) -> dict[str, str]:
    if credentials_file is not None:
        data = json.loads(credentials_file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise InvalidInput(f"{credentials_file} must hold a JSON object, e.g. {{\"user\": …, \"password\": …}}.")
        return {str(k): str(v) for k, v in data.items()}
    kind = get_type(api)
    needs = kind.needs(kind.check(settings, fetch_policy(get_settings()))) if ask else ()
    found: dict[str, str] = {"user": user} if user else {}
    for field in needs:
        if field == "user":
            continue
        single = field in ("password", "token")  # one secret: it may come from the environment
        found[field] = (os.environ.get(SECRET_ENV) if single else None) or typer.prompt(f"{api} {field}",
                                                                                        hide_input=True)
    return found


@exchanges_app.command("add")
@friendly_errors
def add(
    name: str,
    api: str = typer.Option(..., "--type", help="Exchange type: " + ", ".join(TYPES)),
    bank: list[str] = typer.Option(..., "--bank", help="A bank the exchange feeds (repeatable)."),
    setting: list[str] = typer.Option([], "--set", help="A setting as key=value (repeatable), e.g. environment=Industry."),
    user: str = typer.Option(None, help="User name, for exchanges that take one."),
    credentials_file: Path = typer.Option(None, help="JSON file with every credential field."),
    every: int = typer.Option(60, help="Fetch every N minutes."),
    create_banks: bool = typer.Option(False, help="Create the banks that do not exist yet."),
) -> None:
    """Add an exchange; its first fetch is due at once. A password or token is asked for (hidden)."""
    settings = get_settings()
    values = _pairs(setting)
    credentials = _credentials(api, values, user, credentials_file, ask=True)
    with db_session() as session:
        service.add_exchange(session, name=name, api=api, settings=values, bank_names=bank, credentials=credentials,
                             fetch_every_minutes=every, actor=actor(), clock=clock, secret=settings.secret_key_bytes(),
                             policy=fetch_policy(settings), create_banks=create_banks)
        session.commit()
    console.print(f"Added {name}; the first fetch runs with the server's next tick (or `bastion exchanges fetch {name}`).")


@exchanges_app.command("list")
@friendly_errors
def list_() -> None:
    """Every exchange with its status, last success and last run's counts, one per line."""
    with db_session() as session:
        exchanges = service.list_exchanges(session)
        if not exchanges:
            console.print("No exchanges.")
        for exchange in exchanges:
            v = service.view(session, exchange)
            console.print(f"{v.name}  {v.api}  banks={','.join(v.banks)}  status={'paused' if v.paused else v.status}  "
                          f"last_success={v.last_success_at.isoformat() if v.last_success_at else 'never'}  "
                          f"added/updated/deleted/skipped={v.items_added}/{v.items_updated}/{v.items_deleted}/"
                          f"{v.items_skipped}  items={v.live_items}  "
                          f"next={v.next_fetch_at.isoformat() if v.next_fetch_at else '-'}", markup=False)


@exchanges_app.command("fetch")
@friendly_errors
def fetch(name: str) -> None:
    """Fetch now, in this process, from the stored checkpoint."""
    from bastion.db import make_engine, make_sessionmaker
    from bastion.exchanges.fetch import run_fetch

    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    try:
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            exchange_id = service.get_exchange(session, name).id
        report = run_fetch(sessions, exchange_id, clock=clock, secret=settings.secret_key_bytes(),
                           policy=fetch_policy(settings))
    finally:
        engine.dispose()
    console.print(f"{name}: {report.status}; {report.pages} page(s), added {report.added}, updated {report.updated}, "
                  f"deleted {report.deleted}, skipped {report.skipped}" + (f"; {report.error}" if report.error else ""))
    if report.status not in ("ok",):
        raise typer.Exit(1)


def _pause(name: str, paused: bool) -> None:
    with db_session() as session:
        service.set_paused(session, service.get_exchange(session, name), paused, actor=actor(), clock=clock)
        session.commit()
    console.print(f"{name} {'paused' if paused else 'resumed'}.")


@exchanges_app.command("sharing")
@friendly_errors
def set_sharing(
    name: str,
    confirmed: bool = typer.Option(False, "--confirmed", help="Positive feedback on matches reviewers confirm."),
    false_positive: bool = typer.Option(False, "--false-positive", help="Negative feedback on rejected matches."),
    new_material: bool = typer.Option(False, "--new-material", help="Hashes of confirmed material no bank knew."),
    second_approver: bool = typer.Option(False, "--second-approver", help="Each waits for a second person."),
) -> None:
    """What goes back to the exchange (hashes and feedback, never media); no option switches sharing off."""
    from bastion.exchanges import sharing

    choice = sharing.Sharing(confirmed, false_positive, new_material, second_approver)
    with db_session() as session:
        sharing.set_sharing(session, service.get_exchange(session, name), choice, actor=actor(), clock=clock)
        session.commit()
    chosen = [k for k in sharing.KINDS if getattr(choice, k)]
    console.print(f"{name} shares back: {', '.join(chosen) or 'nothing'}"
                  + (" (a second person approves each)" if second_approver and chosen else "") + ".")


@exchanges_app.command("pause")
@friendly_errors
def pause(name: str) -> None:
    """Stop fetching (a running fetch stops after its current page)."""
    _pause(name, True)


@exchanges_app.command("resume")
@friendly_errors
def resume(name: str) -> None:
    """Fetch again, at once and then on schedule."""
    _pause(name, False)


@exchanges_app.command("credentials")
@friendly_errors
def credentials(name: str, user: str = typer.Option(None, help="User name, for exchanges that take one."),
                credentials_file: Path = typer.Option(None, help="JSON file with every credential field.")) -> None:
    """Replace the exchange's credentials (asked for, hidden); an exchange stopped by refused credentials fetches again."""
    settings = get_settings()
    with db_session() as session:
        exchange = service.get_exchange(session, name)
        values = _credentials(exchange.api, json.loads(exchange.config_json), user, credentials_file, ask=True)
        service.set_credentials(session, exchange, values, actor=actor(), clock=clock,
                                secret=settings.secret_key_bytes())
        session.commit()
    console.print(f"Credentials of {name} replaced.")


@exchanges_app.command("delete")
@friendly_errors
def delete(name: str, yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation.")) -> None:
    """Delete the exchange; what it put in banks stays there."""
    if not yes:
        typer.confirm(f"Delete the exchange {name}?", abort=True)
    with db_session() as session:
        service.delete_exchange(session, service.get_exchange(session, name), actor=actor(), clock=clock)
        session.commit()
    console.print(f"{name} deleted; its bank entries stay.")


def _approver(session: Any, username: str) -> Any:
    """The named lead or admin a command-line decision is made as: the second-person rule needs a person."""
    from bastion.auth import users
    from bastion.auth.permissions import Perm, allowed
    from bastion.auth.roles import Role

    user = users.require_user(session, username)
    if user.disabled or not allowed(Role(user.role), Perm.EXCHANGES_APPROVE):
        raise InvalidInput(f"{user.username} cannot approve contributions: it takes an active lead or admin.")
    return user


@exchanges_app.command("contributions")
@friendly_errors
def contributions_command(exchange: str = typer.Option("", help="Only this exchange's contributions."),
                          status: str = typer.Option("", help="Only this status, e.g. needs_approval."),
                          cursor: str = typer.Option("", help="Where the previous page ended (printed below it)."),
                          ) -> None:
    """Contributions to exchanges, newest first: what goes out, for what, and whether it waits for approval."""
    from bastion.exchanges import sharing

    with db_session() as session:
        page = sharing.contributions(session, exchange=exchange, status=status, cursor=cursor or None)
    if not page.rows:
        console.print("No contributions.")
    for v in page.rows:
        console.print(f"{v.id}  {v.exchange}  {v.kind}  {v.signal_type}  {v.subject}  {v.status}"
                      f"{'  approved by ' + v.approved_by if v.approved_by else ''}"
                      f"{'  (' + v.last_error + ')' if v.last_error else ''}", markup=False)
    if page.next_cursor:
        console.print(f"More: --cursor {page.next_cursor}", markup=False)


@exchanges_app.command("approve")
@friendly_errors
def approve_command(contribution_id: int = typer.Argument(..., help="The contribution's number (see `contributions`)."),
                    as_user: str = typer.Option(..., "--as", help="The lead or admin approving it (not its proposer)."),
                    ) -> None:
    """Approve a contribution that waits for a second person; it is then sent by the outbox."""
    from bastion.exchanges import sharing

    with db_session() as session:
        user = _approver(session, as_user)
        sharing.approve(session, contribution_id, approver_id=user.id, actor=f"{actor()} as {user.username}",
                        clock=clock)
        session.commit()
    console.print(f"Contribution {contribution_id} approved by {as_user}; it will be sent.")


@exchanges_app.command("refuse")
@friendly_errors
def refuse_command(contribution_id: int = typer.Argument(..., help="The contribution's number (see `contributions`)."),
                   as_user: str = typer.Option(..., "--as", help="The lead or admin refusing it."),
                   reason: str = typer.Option(..., help="Why it must not be sent (kept in the audit log)."),
                   ) -> None:
    """Refuse a contribution that waits for a second person: nothing is sent."""
    from bastion.exchanges import sharing

    with db_session() as session:
        user = _approver(session, as_user)
        sharing.refuse(session, contribution_id, approver_id=user.id, actor=f"{actor()} as {user.username}",
                       reason=reason, clock=clock)
        session.commit()
    console.print(f"Contribution {contribution_id} refused by {as_user}; nothing will be sent.")
