"""`bastion production ...`: verify a package, show or create the signing key (the main CLI mounts `production_app`).

`verify` needs no database and no secret: it is the same check a recipient runs, and
an operator can run it on any copy of a package before or after sending it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bastion.cli.common import console, err_console, friendly_errors
from bastion.config import get_settings
from bastion.production.config import ENV_SIGNING_KEY_FILE, ProductionConfig
from bastion.production.errors import KeyFileError
from bastion.production.keys import SigningKey, load_public_key
from bastion.production.verify import verify_package

production_app = typer.Typer(help="Signed production packages for law-enforcement disclosures.", no_args_is_help=True)


def _instance_key_path() -> Path:
    return ProductionConfig.from_settings(get_settings()).signing_key_file


@production_app.command("verify")
@friendly_errors
def verify_command(
    package: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The package ZIP.")],
    public_key: Annotated[Path | None, typer.Option(
        "--public-key", exists=True, dir_okay=False, readable=True,
        help="PEM public key of the signer (default: this instance's key).")] = None,
) -> None:
    """Check the signature and every file's SHA-256; exit 1 and name each altered, missing or extra file."""
    key = (load_public_key(public_key.read_bytes()) if public_key is not None
           else SigningKey.load(_instance_key_path()).public_key)
    with package.open("rb") as handle:
        result = verify_package(handle, key)
    for problem in result.problems:
        where = f"{problem.name}: " if problem.name and not problem.message.startswith(problem.name) else ""
        err_console.print(f"[red]{type(problem).__name__}[/red] {where}{problem.message}", highlight=False)
    if not result.ok:
        err_console.print(f"[red]NOT VALID[/red]: {package} must not be relied on.", highlight=False)
        raise typer.Exit(1)
    console.print(f"OK: package {result.package_id}, signed by key {result.key_id}, "
                  f"{result.files_checked} files intact.", highlight=False)


@production_app.command("public-key")
@friendly_errors
def public_key_command() -> None:
    """Print this instance's public key (PEM) for recipients; its id goes to stderr."""
    key = SigningKey.load(_instance_key_path())
    err_console.print(f"key id {key.key_id}", highlight=False)
    typer.echo(key.public_pem, nl=False)


@production_app.command("new-key")
@friendly_errors
def new_key_command(
    path: Annotated[Path | None, typer.Argument(
        help=f"Where to write it (default: {ENV_SIGNING_KEY_FILE} or the data dir).")] = None,
) -> None:
    """Create a signing key (owner-only PEM); refuses to overwrite one. Back it up: it identifies your packages."""
    target = path or _instance_key_path()
    key = SigningKey.generate()
    try:
        key.save(target)
    except FileExistsError:
        raise KeyFileError(f"{target} already exists; a signing key is never overwritten.") from None
    console.print(f"Wrote signing key {key.key_id} to {target}. Publish its public key (`bastion production "
                  "public-key`) and keep a backup of the file.", highlight=False)
