"""``kluis datasets check``: does every declared service database answer and match its declaration?"""

from __future__ import annotations

import typer

from kluis import wiring
from kluis.datasets.service import DatasetUnavailable
from kluis.kit.cli import domain_errors, err, out

app = typer.Typer(help="benVitaal's service databases declared in the policy (docs/datasets.md).",
                  no_args_is_help=True)


@app.command()
@domain_errors
def check() -> None:
    """Connect to each declared dataset and compare its tables and columns with the policy; exit 1 on any
    problem. Reads the schema only: no personal data is read or changed."""
    datasets = wiring.for_cli().datasets()
    failed = False
    for dataset_id in datasets.ids():
        try:
            problems = datasets.check(dataset_id)
        except DatasetUnavailable as exc:
            problems = [exc.message]
        if problems:
            failed = True
            for problem in problems:
                err.print(f"[red]problem[/red] {dataset_id}: {problem}", highlight=False, soft_wrap=True)
        else:
            out.print(f"OK {dataset_id} ({datasets.where(dataset_id)})", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
