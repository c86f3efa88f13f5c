"""CLI helpers shared by every command group: error output and progress that suits the terminal."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from kluis.kit.errors import DomainError

err = Console(stderr=True)
out = Console()
log = logging.getLogger("kluis")
P = ParamSpec("P")
R = TypeVar("R")


def domain_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print a domain error as a clear message and exit 1, instead of a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            err.print(f"[red]error[/red] ({exc.code}): {exc.message}", highlight=False)
            for p in exc.problems:
                err.print(f"  {p.path}: {p.message}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


@contextmanager
def progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; log lines (every ~10%) when output goes to a file or pipe."""
    if sys.stderr.isatty():
        # Imported here for start-up speed: only a long command on a terminal draws a bar.
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       console=err)
        with bar:
            task = bar.add_task(label, total=total)
            yield lambda n: bar.advance(task, n)
        return
    state: dict[str, Any] = {"done": 0, "next": max(1, (total or 0) // 10)}

    def step(n: int) -> None:
        state["done"] += n
        if state["done"] >= state["next"] or (total and state["done"] >= total):
            log.info("%s: %d/%s", label, state["done"], total if total is not None else "?")
            state["next"] = state["done"] + max(1, (total or 10 * n) // 10)

    yield step
    log.info("%s: done, %d", label, state["done"])
