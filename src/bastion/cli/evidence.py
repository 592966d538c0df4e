"""`bastion evidence ...`: operator commands for the vault (the main CLI mounts `evidence_app`).

Holds, releases and purges need only the database and the blob store, never the
master key, so they work on a machine that does not hold it; verify and rotate-key
decrypt and therefore need it.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from bastion.cli.common import (
    actor,
    clock,
    console,
    db_session,
    err_console,
    friendly_errors,
)
from bastion.config import get_settings
from bastion.evidence import holds, purge, retention
from bastion.evidence.config import (
    ENV_MASTER_KEY,
    ENV_MASTER_KEY_FILE,
    ENV_PREVIOUS_KEY_FILES,
    VaultConfig,
)
from bastion.evidence.keys import MasterKey

evidence_app = typer.Typer(help="The encrypted evidence vault: integrity, keys, retention and legal holds.",
                           no_args_is_help=True)


def _config() -> VaultConfig:
    return VaultConfig.from_settings(get_settings())


@evidence_app.command("verify")
@friendly_errors
def verify_command(
    orphans: bool = typer.Option(True, "--orphans/--no-orphans", help="Also list stored objects nothing references."),
) -> None:
    """Decrypt every stored object and check its SHA-256; exit 1 if any is altered, missing or unreadable."""
    vault = _config().vault(clock)
    with db_session() as session:
        report = vault.verify(session, actor=actor(), orphans=orphans)
        session.commit()
    for problem in report.problems:
        items = ", ".join(map(str, problem.items)) or "none"
        err_console.print(f"[red]{problem.kind}: object {problem.object_key} (sha256 {problem.sha256}, items {items})"
                          f"[/red]\n  {problem.detail}")
    for key in report.orphans:
        console.print(f"orphan object (no record uses it; safe to delete): {key}")
    console.print(f"{report.ok} of {report.objects} objects intact.")
    if not report.intact:
        raise typer.Exit(1)


@evidence_app.command("check")
@friendly_errors
def check_command() -> None:
    """Quick check that this machine's vault is the shared one (the newest objects and every key); exit 1 if not.

    Run it on each new server or worker: unlike `verify`, it reads no evidence, only whether it is there.
    """
    from bastion.evidence.shared import check_shared

    vault = _config().vault(clock)
    with db_session() as session:
        problems = check_shared(session, vault)
    for problem in problems:
        err_console.print(f"[red]{problem}[/red]")
    if problems:
        raise typer.Exit(1)
    console.print(f"This machine's vault ({vault.store.describe()}) holds the newest evidence and every key it needs.")


@evidence_app.command("rotate-key")
@friendly_errors
def rotate_key_command(
    new_key_file: Path = typer.Option(..., help="File holding the new master key (make one with `new-key`)."),
    reason: str = typer.Option("scheduled master key rotation", help="Recorded in the audit log."),
) -> None:
    """Re-wrap every data key under a new master key; the encrypted objects are not rewritten."""
    new = MasterKey.from_file(new_key_file)
    vault = _config().vault(clock)
    with db_session() as session:
        report = vault.rotate_key(session, new, actor=actor(), reason=reason)
        session.commit()
    console.print(
        f"Re-wrapped {report.rewrapped} data keys under master key {report.new_key_id}. Now set "
        f"{ENV_MASTER_KEY_FILE}={new_key_file} (or {ENV_MASTER_KEY}) everywhere the vault runs. Keep the old key, "
        f"offline, for as long as you keep database backups from before today (add it to {ENV_PREVIOUS_KEY_FILES} "
        "to read one)."
    )


@evidence_app.command("new-key")
@friendly_errors
def new_key_command(path: Path = typer.Argument(..., help="Where to write the key (must not exist).")) -> None:
    """Create a new random master key file, readable by its owner only."""
    key = MasterKey.generate()
    key.write_new_file(path)
    console.print(f"Wrote master key {key.key_id} to {path}. Back it up: evidence sealed with it is unreadable "
                  "without it.")


@evidence_app.command("purge")
@friendly_errors
def purge_command() -> None:
    """Delete evidence whose retention has passed and that no legal hold covers (tombstones and custody stay)."""
    store = _config().store()
    total, held = 0, 0
    while True:
        with db_session() as session:
            report = purge.purge_expired(session, store=store, now=clock.now(), actor=actor(),
                                         clock=clock)
            session.commit()
        total, held = total + len(report.purged), len(report.held)
        if len(report.purged) < purge.BATCH:
            break
    console.print(f"Purged {total} items; {held} expired items are kept by legal holds.")


@evidence_app.command("hold")
@friendly_errors
def hold_command(
    reason: str = typer.Option(..., help="Why: the order, request or investigation the hold answers."),
    subject: str = typer.Option(None, help="Hold everything about a subject, e.g. case:12 or account:abc."),
    item: int = typer.Option(None, help="Hold one evidence item."),
    reference: str = typer.Option("", help="The order's or request's reference."),
) -> None:
    """Place a legal hold: covered evidence is not deleted until the hold is released."""
    with db_session() as session:
        hold = holds.place_hold(session, subject=subject, item_id=item, reason=reason, actor=actor(), clock=clock,
                                reference=reference)
        session.commit()
        console.print(f"Placed legal hold {hold.id} on {subject or f'item {item}'}.")


@evidence_app.command("release")
@friendly_errors
def release_command(
    hold_id: int = typer.Argument(..., help="The hold's number."),
    reason: str = typer.Option(..., help="Why the hold ends (e.g. the case closed)."),
) -> None:
    """Release a legal hold; evidence past its retention is purged on the next run."""
    with db_session() as session:
        holds.release_hold(session, hold_id, reason=reason, actor=actor(), clock=clock)
        session.commit()
    console.print(f"Released legal hold {hold_id}.")


@evidence_app.command("holds")
@friendly_errors
def holds_command() -> None:
    """List active legal holds."""
    table = Table("id", "on", "placed", "by", "reason", "reference")
    with db_session() as session:
        for hold in holds.active_holds(session):
            table.add_row(str(hold.id), hold.subject or f"item {hold.item_id}", f"{hold.placed_at:%Y-%m-%d}",
                          hold.placed_by, hold.reason, hold.reference)
    console.print(table)


@evidence_app.command("policies")
@friendly_errors
def policies_command() -> None:
    """List the retention catalogue."""
    table = Table("key", "keep for", "citation", "as of", "title")
    with db_session() as session:
        for policy in retention.list_policies(session):
            table.add_row(policy.key, policy.duration, policy.citation, policy.as_of.isoformat(), policy.title)
    console.print(table)
