"""``kluis policy check``, ``render`` and ``records``: validate the policy file, print the statement and the
records of processing (R-GOV-5)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kluis import wiring
from kluis.config import Settings
from kluis.kit.cli import domain_errors
from kluis.policy.loader import load_policy
from kluis.policy.records_export import export
from kluis.policy.render import render_statement
from kluis.policy.rules import PolicyInvalid
from kluis.policy.schemas import Policy, version_label
from kluis.policy.service import records_of_processing
from kluis.vault.service import employer_names

app = typer.Typer(help="The privacy statement as data: check the policy file and render the statement.",
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
    policy = kluis.policy if file is None else _load(file)
    with kluis.db.transaction() as session:
        found = records_of_processing(session, kluis.clock, policy, lang=lang.value, fmt=fmt.value, actor="cli",
                                      seq=version, employers=employer_names(session) if per_employer else None)
    body = export(found, fmt.value)
    if out is not None:
        out.write_bytes(body)
        typer.echo(f"wrote {out} (policy version {found.version})", err=True)
    else:
        typer.echo(body.decode("utf-8-sig"), nl=False)


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
