"""``kluis policy check`` and ``kluis policy render``: validate the policy file and print the statement."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kluis.policy.loader import load_policy
from kluis.policy.render import render_statement
from kluis.policy.rules import PolicyInvalid
from kluis.policy.schemas import Policy, version_label

app = typer.Typer(help="The privacy statement as data: check the policy file and render the statement.",
                  no_args_is_help=True)


class Language(StrEnum):
    NL = "nl"
    EN = "en"


class OutputFormat(StrEnum):
    HTML = "html"
    MD = "md"


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


def _resolve(file: Path | None) -> Path:
    if file is not None:
        return file
    from kluis.config import Settings  # only when no file is named: settings read the environment

    return Settings().policy_file


def _load(path: Path) -> Policy:
    try:
        return load_policy(path)
    except PolicyInvalid as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(exc.message, err=True)
        raise typer.Exit(code=1) from exc
