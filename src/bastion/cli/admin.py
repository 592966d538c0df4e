"""Commands for the database, users, API keys, the audit chain and configuration."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import typer
from rich.table import Table

from bastion.audit import anchor, verified
from bastion.audit.anchor import Anchor
from bastion.auth import apikeys, users
from bastion.auth.roles import MACHINE_ROLES, Role
from bastion.cli.common import actor, clock, console, db_session, err_console, friendly_errors
from bastion.config import get_settings, masked_settings
from bastion.db import make_engine, migrate
from bastion.db.engine import check_reachable
from bastion.errors import InvalidInput
from bastion.evidence import anchors
from bastion.production.config import ProductionConfig
from bastion.production.keys import SigningKey

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="People and machine clients.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for machine clients.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
config_app = typer.Typer(help="Effective configuration.", no_args_is_help=True)


@db_app.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Apply all pending migrations."""
    upgrade_database()
    console.print("Database is at the newest migration.")


def upgrade_database() -> None:
    engine = make_engine(get_settings().effective_database_url)
    try:
        check_reachable(engine)
        migrate.upgrade(engine)
    finally:
        engine.dispose()


@db_app.command("current")
@friendly_errors
def db_current() -> None:
    """Show the database's migration revision and the newest one shipped."""
    engine = make_engine(get_settings().effective_database_url)
    check_reachable(engine)
    console.print(f"database: {migrate.current_revision(engine)}  newest: {migrate.head_revision()}")


@users_app.command("create")
@friendly_errors
def users_create(
    username: str,
    role: str = typer.Option(..., help="One of: " + ", ".join(r.value for r in Role)),
    email: str = typer.Option("", help="Contact address."),
    password: str = typer.Option(None, help="Omit to be prompted (people) or for machine clients."),
) -> None:
    """Create a user. Machine clients (roles platform and flagger) get no password: give them an API key."""
    parsed = users.parse_role(role)
    if password is None and parsed not in MACHINE_ROLES:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with db_session() as session:
        user = users.create_user(session, username=username, role=parsed, password=password, email=email,
                                 actor=actor(), clock=clock)
        session.commit()
        console.print(f"Created {user.username} ({user.role}), id {user.id}.")


@users_app.command("list")
@friendly_errors
def users_list() -> None:
    """List users with their role and status."""
    table = Table("id", "username", "role", "second factor", "status", "last login")
    with db_session() as session:
        for u in users.list_users(session):
            table.add_row(str(u.id), u.username, u.role, "on" if u.totp_enabled else "off",
                          "disabled" if u.disabled else "active",
                          u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never")
    console.print(table)


@users_app.command("disable")
@friendly_errors
def users_disable(username: str, enable: bool = typer.Option(False, "--enable", help="Re-enable instead.")) -> None:
    """Disable a user (ends their sessions, blocks their keys), or re-enable with --enable."""
    with db_session() as session:
        users.set_disabled(session, users.require_user(session, username), not enable, actor=actor(), clock=clock)
        session.commit()
    console.print(f"{username} is now {'active' if enable else 'disabled'}.")


@users_app.command("set-role")
@friendly_errors
def users_set_role(username: str, role: str) -> None:
    """Change a user's role; their open sessions end."""
    with db_session() as session:
        users.set_role(session, users.require_user(session, username), users.parse_role(role), actor=actor(),
                       clock=clock)
        session.commit()
    console.print(f"{username} is now {role}.")


@users_app.command("reset-totp")
@friendly_errors
def users_reset_totp(username: str) -> None:
    """Clear a user's second factor; they enrol again at next login."""
    with db_session() as session:
        users.reset_second_factor(session, users.require_user(session, username), actor=actor(), clock=clock)
        session.commit()
    console.print(f"{username} will enrol a new second factor at next login.")


@users_app.command("reset-password")
@friendly_errors
def users_reset_password(username: str) -> None:
    """Mail the user a single-use password reset link (through the mail outbox); the link is never shown here."""
    from datetime import timedelta

    from bastion.auth import resets

    settings = get_settings()
    config = resets.ResetConfig(base_url=settings.base_url, lifetime=timedelta(minutes=settings.password_reset_minutes))
    with db_session() as session:
        user = users.require_user(session, username)
        row = resets.start_reset(session, user, actor=actor(), config=config, clock=clock)
        session.commit()
        console.print(f"A reset link for {user.username} is queued to {user.email}; it works once, until "
                      f"{row.expires_at:%Y-%m-%d %H:%M} UTC.")


@users_app.command("unlock")
@friendly_errors
def users_unlock(username: str, address: list[str] = typer.Option(None, help="Also unlock these client addresses.")
                 ) -> None:
    """Lift the login locks on an account (password and second factor) and, optionally, on client addresses."""
    from bastion import audit as audit_log
    from bastion.auth import throttle

    with db_session() as session:
        user = users.require_user(session, username)
        targets = [throttle.Target("account", user.username.lower()), throttle.Target("mfa", str(user.id))]
        targets += [throttle.Target(scope, ip) for ip in address or [] for scope in ("ip", "mfa_ip")]
        removed = throttle.unlock(session, targets)
        audit_log.record(session, actor=actor(), action="auth.unlock", subject=f"user:{user.id}",
                         details={"username": user.username, "addresses": address or [], "counters": removed},
                         clock=clock)
        session.commit()
    console.print(f"{username}: {removed} lock counter(s) cleared.")


@keys_app.command("create")
@friendly_errors
def keys_create(
    owner: str = typer.Option(..., help="Username the key acts as."),
    name: str = typer.Option(..., help="What the key is for."),
    scope: list[str] = typer.Option(None, help="Repeat for each permission; default: all the owner's role holds "
                                               "except media and account data."),
    days: int = typer.Option(None, help="Lifetime in days (default BASTION_APIKEY_DEFAULT_DAYS, at most "
                                        "BASTION_APIKEY_MAX_DAYS)."),
) -> None:
    """Create an API key. It is printed once; only its hash is stored.

    Keys made here never carry media or account-data scopes: their owners mint those themselves,
    signed in, with a second-factor code.
    """
    from datetime import timedelta

    settings = get_settings()
    limits = apikeys.Lifetimes(default=timedelta(days=settings.apikey_default_days),
                               maximum=timedelta(days=settings.apikey_max_days),
                               step_up_max=timedelta(minutes=settings.apikey_step_up_max_minutes))
    with db_session() as session:
        issued = apikeys.create_key(session, users.require_user(session, owner), name=name, scopes=scope or None,
                                    minter=apikeys.Minter(actor=actor(), role=None), clock=clock,
                                    lifetime=timedelta(days=days) if days else None, limits=limits)
        session.commit()
        console.print(f"Key {issued.row.id} ({issued.row.name}) with scopes: {issued.row.scopes}; "
                      f"expires {issued.row.expires_at:%Y-%m-%d %H:%M} UTC")
    console.print("Store it now; it will not be shown again:")
    print(issued.secret)


@keys_app.command("list")
@friendly_errors
def keys_list() -> None:
    """List API keys (never the keys themselves)."""
    table = Table("id", "name", "owner", "prefix", "scopes", "expires", "last used", "status")
    with db_session() as session:
        for key, owner in apikeys.list_keys(session):
            table.add_row(str(key.id), key.name, owner, key.prefix, key.scopes, key.expires_at.strftime("%Y-%m-%d %H:%M"),
                          key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "never",
                          apikeys.status_of(key, clock))
    console.print(table)


@keys_app.command("revoke")
@friendly_errors
def keys_revoke(key_id: int) -> None:
    """Revoke an API key at once."""
    with db_session() as session:
        apikeys.revoke_key(session, key_id, actor=actor(), clock=clock)
        session.commit()
    console.print(f"Key {key_id} revoked.")


@audit_app.command("verify")
@friendly_errors
def audit_verify(
    expect_head: str = typer.Option("", "--expect-head", help="An exported anchor, SEQ:HASH, the chain must still hold."),
    head_file: Path | None = typer.Option(None, "--head-file", exists=True, dir_okay=False,
                                          help="A signed head export (from `audit export-head`) to check the chain against."),
) -> None:
    """Walk the whole chain and keep the result for the audit page; exit 1 naming the first broken record, or an
    exported anchor it no longer holds."""
    anchors = [Anchor.parse(expect_head)] if expect_head else []
    if head_file is not None:
        anchors.append(_signed_anchor(head_file))
    with db_session() as session:
        result = verified.verify_whole(session, actor=actor(), clock=clock)
        problems = [p for p in (anchor.check(session, a) for a in anchors) if p]
        session.commit()
    if result.ok and not problems:
        console.print(f"OK: {result.records} records verified. Head: {result.records}:{result.head_hash}"
                      + (f"; {len(anchors)} exported anchor(s) still held." if anchors else ""))
        return
    if not result.ok:
        err_console.print(f"[red]BROKEN at record {result.first_broken}: {result.reason}[/red]")
    for problem in problems:
        err_console.print(f"[red]ANCHOR NOT HELD: {problem}[/red]")
    raise typer.Exit(1)


@audit_app.command("export-head")
@friendly_errors
def audit_export_head(
    out: Path = typer.Option(..., "--out", help="Where to write the signed statement (keep it off this machine)."),
) -> None:
    """Sign the chain's current head with the instance key; store the file where this machine cannot rewrite it.

    The server writes one every hour by itself when `BASTION_AUDIT_ANCHOR_DIR` is set; point it at
    storage this host cannot rewrite (another system, a write-once bucket's mount), or ship the files
    off the host: `audit verify --head-file` then catches a truncated or rewritten chain.
    """
    key = SigningKey.load_or_create(ProductionConfig.from_settings(get_settings()).signing_key_file)
    with db_session() as session:
        document = anchors.signed_head(session, key, at=clock.now())
    out.write_text(json.dumps(document, indent=2))
    console.print(f"Head {document['statement']['anchor']} signed by key {key.key_id} into {out}.")


def _signed_anchor(path: Path) -> Anchor:
    """The anchor of a signed head export, after checking its signature against this instance's key."""
    key = SigningKey.load(ProductionConfig.from_settings(get_settings()).signing_key_file)
    try:
        return anchors.anchor_of(json.loads(path.read_text()), key.public_key)
    except InvalidInput as exc:
        raise typer.BadParameter(f"{path}: {exc.message}") from None


@config_app.command("show")
def config_show(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print the effective settings, secrets masked."""
    values = masked_settings(get_settings())
    if as_json:
        print(json.dumps(values, indent=2))
        return
    table = Table("setting", "value")
    for key, value in values.items():
        table.add_row(key, str(value))
    console.print(table)


def ensure_admin() -> None:
    """Create the first admin if there is none; a generated password is printed once."""
    settings = get_settings()
    with db_session() as session:
        if users.admin_exists(session):
            return
        given = settings.admin_password.get_secret_value() if settings.admin_password else ""
        password = given or secrets.token_urlsafe(15)
        users.create_user(session, username=settings.admin_username, role=Role.ADMIN, password=password, email="",
                          actor="bastion init", clock=clock)
        session.commit()
    console.print(f"Created the first admin, [bold]{settings.admin_username}[/bold].")
    if not given:
        console.print(f"Generated password (shown once, store it now): [bold]{password}[/bold]")
