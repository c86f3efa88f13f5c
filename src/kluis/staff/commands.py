"""`kluis staff …`: add, list, disable and reset staff accounts of the console, and set their language."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from kluis.audit import service as audit
from kluis.kit.clock import AMSTERDAM
from kluis.kit.errors import DomainError
from kluis.staff import service
from kluis.staff.rules import Role
from kluis.wiring import Kluis, build

LANGUAGE_HELP = "nl (Dutch) or en (English): the console's and the staff mails' language."
app = typer.Typer(help="Staff accounts of the console (argon2id passwords, TOTP codes).", no_args_is_help=True)

# Tests replace this with a function that returns a ready Kluis.
get_kluis: Callable[[], Kluis] = build


@contextmanager
def _kluis() -> Iterator[Kluis]:
    """A Kluis for one command; domain errors end the command with their message and exit code 1."""
    kluis = get_kluis()
    try:
        yield kluis
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        kluis.close()


def _password_from_stdin() -> str:
    """The first line of standard input, so a password never appears in the shell history."""
    return sys.stdin.readline().rstrip("\r\n")


@app.command()
def add(email: Annotated[str, typer.Argument(help="The staff member's e-mail address.")],
        role: Annotated[Role, typer.Option(help="What the account may do in the console.")],
        password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                     help="Read the password from standard input "
                                                          "instead of generating one.")] = False,
        language: Annotated[str | None, typer.Option(help=LANGUAGE_HELP + " Unset: KLUIS_STAFF_LANGUAGE for "
                                                     "mails, the browser for the console.")] = None) -> None:
    """Add a staff account; prints the password (if generated) and the TOTP enrolment, once."""
    password = _password_from_stdin() if password_stdin else None
    with _kluis() as kluis, kluis.db.transaction() as session:
        enrolment = service.add_staff(session, kluis.clock, kluis.keys, email, role.value, password,
                                      language=language)
    typer.echo(f"Added {role.value} account {enrolment.account.id}.")
    if enrolment.password is not None:
        typer.echo(f"Password (shown once, hand it over safely): {enrolment.password}")
    typer.echo("Add this account to an authenticator app (shown once):")
    typer.echo(f"  URI:    {enrolment.totp_uri}")
    typer.echo(f"  Secret: {enrolment.totp_secret}  (for manual entry: time-based, 6 digits, 30 seconds)")


@app.command("list")
def list_accounts(show_emails: Annotated[bool, typer.Option("--show-emails",
                                                            help="Decrypt and show e-mail addresses "
                                                                 "(recorded in the audit log).")] = False
                  ) -> None:
    """List staff accounts: id, role, created, status (active, locked, disabled), language (- when not chosen)."""
    with _kluis() as kluis, kluis.db.transaction() as session:
        accounts = service.list_staff(session)
        now = kluis.clock.now()
        lines = []
        for account in accounts:
            created = account.created_at.astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M")
            line = (f"{account.id}  {account.role:<9}  {created}  {service.status_of(account, now):<8}  "
                    f"{account.language or '-':<8}")
            if show_emails:
                line += f"  {service.email_of(kluis.keys, account)}"
            lines.append(line.rstrip())
        if show_emails and accounts:
            audit.append(session, kluis.clock, actor=service.CLI, action="staff.emails_shown", object_type="staff",
                         object_ids=[a.id for a in accounts])
    if not lines:
        typer.echo("No staff accounts yet: add one with `kluis staff add EMAIL --role dpo`.")
        return
    header = f"{'id':<36}  {'role':<9}  {'created':<16}  {'status':<8}  language"
    typer.echo(header + ("  e-mail" if show_emails else ""))
    typer.echo("\n".join(lines))


@app.command()
def disable(email: Annotated[str, typer.Argument(help="The staff member's e-mail address.")]) -> None:
    """Disable an account: it can no longer sign in and its sessions end at once."""
    with _kluis() as kluis, kluis.db.transaction() as session:
        account = service.disable(session, kluis.clock, kluis.keys, email)
    typer.echo(f"Disabled account {account.id}; its sessions have ended.")


@app.command("language")
def set_language(email: Annotated[str, typer.Argument(help="The staff member's e-mail address.")],
                 language: Annotated[str, typer.Argument(help=LANGUAGE_HELP)]) -> None:
    """Set the language the staff member's mails are written in (and the console starts in when they sign in)."""
    with _kluis() as kluis, kluis.db.transaction() as session:
        chosen = service.parse_language(language)  # a bad value is refused before the account is looked up
        account = service.account_by_email(session, kluis.keys, email)
        changed = service.set_language(session, kluis.clock, account, chosen, actor=service.CLI)
    typer.echo(f"Language of account {account.id}: {chosen}" + ("." if changed else " (unchanged)."))


@app.command("reset-password")
def reset_password(email: Annotated[str, typer.Argument(help="The staff member's e-mail address.")],
                   password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                                help="Read the new password from standard "
                                                                     "input instead of generating one.")
                                             ] = False) -> None:
    """Set a new password, lift a lockout and end the account's sessions."""
    password = _password_from_stdin() if password_stdin else None
    with _kluis() as kluis, kluis.db.transaction() as session:
        account, generated = service.reset_password(session, kluis.clock, kluis.keys, email, password)
    typer.echo(f"New password set for account {account.id}; its sessions have ended.")
    if generated is not None:
        typer.echo(f"Password (shown once, hand it over safely): {generated}")
