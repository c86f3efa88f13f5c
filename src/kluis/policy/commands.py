"""``kluis policy check``, ``render``, ``records``, ``publish`` and ``versions``: validate the policy file, print the
statement and the records of processing (R-GOV-5), publish a version for its moment and follow its announcement
(R-POL-3, R-GOV-4)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kluis import wiring
from kluis.changes import announcements
from kluis.config import Settings
from kluis.kit.cli import domain_errors
from kluis.kit.clock import as_utc
from kluis.policy.diff import describe, diff
from kluis.policy.loader import load_policy
from kluis.policy.publish import publish as publish_version
from kluis.policy.records_export import export
from kluis.policy.render import moment_text, render_statement
from kluis.policy.rules import PolicyInvalid
from kluis.policy.schemas import Policy, version_label
from kluis.policy.service import records_of_processing
from kluis.policy.timeline import Version
from kluis.vault.service import employer_names

app = typer.Typer(help="The privacy statement as data: check the policy file, render the statement, publish "
                       "versions.",
                  no_args_is_help=True)


class Language(StrEnum):
    NL = "nl"
    EN = "en"


class OutputFormat(StrEnum):
    HTML = "html"
    MD = "md"


class RecordsFormat(StrEnum):
    CSV = "csv"
    PDF = "pdf"
    JSON = "json"


PolicyFile = Annotated[
    Path | None,
    typer.Argument(help="Policy YAML file (default: the configured one, KLUIS_POLICY_FILE).",
                   metavar="FILE", show_default=False),
]


@app.command()
def check(file: PolicyFile = None) -> None:
    """Validate the policy file; print every problem (file:line: path: reason) and exit 1 if any."""
    path = _resolve(file)
    policy = _load(path)
    typer.echo(f"OK {path} (version hash {version_label(policy.content_hash)}; "
               f"{len(policy.categories)} categories, {len(policy.purposes)} purposes, "
               f"{len(policy.retention)} retention rules, {len(policy.processors)} processors)")


@app.command()
def render(
    lang: Annotated[Language, typer.Option("--lang", help="Language of the statement.")] = Language.NL,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="html: a complete page; md: Markdown.")]
    = OutputFormat.HTML,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.",
                                             dir_okay=False, writable=True)] = None,
    file: PolicyFile = None,
) -> None:
    """Render the public privacy statement from the policy file."""
    policy = _load(_resolve(file))
    text = render_statement(policy, lang.value, fmt.value,
                            version=version_label(policy.content_hash))
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)


@app.command()
@domain_errors
def records(
    fmt: Annotated[RecordsFormat, typer.Option("--format", help="csv: both registers in one sheet (a 'register' "
                                               "column); json; pdf: a landscape table per register.")]
    = RecordsFormat.CSV,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the labels and texts.")] = Language.NL,
    version: Annotated[int | None, typer.Option("--version", min=1, help="A stored policy version; FILE must "
                                                "then be that version's policy file.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.",
                                             dir_okay=False, writable=True)] = None,
    per_employer: Annotated[bool, typer.Option("--per-employer", help="Art. 30(2): a row per client employer "
                                               "in the vault, not one for 'each client employer'.")] = False,
    file: PolicyFile = None,
) -> None:
    """The records of processing activities (Art. 30(1) and 30(2) GDPR) from the policy in force."""
    if out is None and fmt == RecordsFormat.PDF:
        raise typer.BadParameter("a PDF needs --out FILE", param_hint="--out")
    kluis = wiring.for_cli()
    policy = _load(file) if file is not None else (kluis.policy_of(version) if version else None) or kluis.policy
    with kluis.db.transaction() as session:
        found = records_of_processing(session, kluis.clock, policy, lang=lang.value, fmt=fmt.value, actor="cli",
                                      seq=version, employers=employer_names(session) if per_employer else None)
    body = export(found, fmt.value)
    if out is not None:
        out.write_bytes(body)
        typer.echo(f"wrote {out} (policy version {found.version})", err=True)
    else:
        typer.echo(body.decode("utf-8-sig"), nl=False)


@app.command()
@domain_errors
def publish(
    file: Annotated[Path, typer.Argument(help="The policy YAML file of the new version.", metavar="FILE",
                                         exists=True, dir_okay=False)],
    effective_at: Annotated[str, typer.Option("--effective-at", metavar="T", help="When it takes effect: ISO 8601 "
                                              "with offset, e.g. 2027-01-01T00:00+01:00.")],
) -> None:
    """Publish FILE as the next version of the policy, in force from T in every running process. A material
    change needs T at least the notice period ahead; the people it affects are then mailed by the worker."""
    policy = _load(file)
    try:
        at = datetime.fromisoformat(effective_at.strip())
    except ValueError:
        raise typer.BadParameter("a date and time with its offset, e.g. 2027-01-01T00:00+01:00",
                                 param_hint="--effective-at") from None
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        published = publish_version(session, kluis.clock, policy, effective_at=at, actor="cli", source=str(file))
        seq, label = published.version.seq, published.version.label
    kluis.timeline.forget()
    typer.echo(f"published version {label}, in force from {moment_text(as_utc(at), 'en')} (Amsterdam time)")
    for line in _changes(kluis, seq):
        typer.echo(f"  {line}")
    if published.announced:
        typer.echo("material: the worker mails the people it affects now (kluis worker; progress: "
                   "kluis policy versions)")


@app.command()
@domain_errors
def versions() -> None:
    """Every stored version: when it applies, what changed, and how far the announcement of its material
    changes is (mailed, asked for consent again, skipped because erased, without an e-mail address)."""
    kluis = wiring.for_cli()
    now = kluis.clock.now()
    with kluis.db.sessions() as session:
        runs = announcements.progress(session)
    for version in kluis.timeline.versions(now):
        typer.echo(f"{version.label}  {_when(version, now)}  published {moment_text(version.published_at, 'en')}"
                   f"{' by ' + version.published_by if version.published_by else ''}")
        run = runs.get(version.seq)
        if run is not None:
            typer.echo(f"  announcement {run.state}: {run.mailed} mailed ({run.renewals} asked for consent again), "
                       f"{run.skipped} erased skipped, {run.unreachable} without an e-mail address")
        for line in _changes(kluis, version.seq):
            typer.echo(f"  {line}")


def _when(version: Version, now: datetime) -> str:
    if version.in_force_at(now):
        return "in force" + (f" until {moment_text(version.until, 'en')}" if version.until else "")
    if version.effective_from > now:
        return f"takes effect {moment_text(version.effective_from, 'en')}"
    if version.until is not None and version.until > version.effective_from:
        return f"applied {moment_text(version.effective_from, 'en')} until {moment_text(version.until, 'en')}"
    return "never in force"


def _changes(kluis: wiring.Kluis, seq: int) -> list[str]:
    now = kluis.clock.now()
    version = kluis.timeline.version(seq, now)
    before = kluis.policy_of(version.previous) if version and version.previous else None
    if version is None or version.policy is None or before is None:
        return []
    return [f"{'[material] ' if c.material else ''}{describe(c, before, version.policy, 'en')}"
            for c in diff(before, version.policy)]


def _resolve(file: Path | None) -> Path:
    if file is not None:
        return file
    return Settings().policy_file  # only when no file is named: settings read the environment


def _load(path: Path) -> Policy:
    try:
        return load_policy(path)
    except PolicyInvalid as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(exc.message, err=True)
        raise typer.Exit(code=1) from exc
