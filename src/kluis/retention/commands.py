"""`kluis retention`: explain a person's terms, sweep what is due (or report it), stamp existing records,
and place, list and release legal holds (R-RET-1..3)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlalchemy import select

from kluis import wiring
from kluis.kit.cli import domain_errors, out, progress
from kluis.kit.errors import Invalid, Problem
from kluis.retention import holds, service
from kluis.retention import sweep as sweeping
from kluis.retention.models import Hold, SweepRun

app = typer.Typer(help="Retention: due dates, the sweep and legal holds (R-RET-1..3).", no_args_is_help=True)
hold_app = typer.Typer(help="Legal holds: what they cover is neither swept nor erased on request.",
                       no_args_is_help=True)
app.add_typer(hold_app, name="hold")
ACTOR = "cli"


def _uuid(text: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise Invalid(f"'{text}' is not a {name} id", code=f"{name}_id_invalid",
                      problems=[Problem(name, "uuid_invalid", "give the id (a UUID)")]) from None


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else "-"


@app.command("explain")
@domain_errors
def explain(person: Annotated[str, typer.Argument(help="The person's id.")]) -> None:
    """Per record: the rule that keeps it, its trigger and the day it happened, the due date, and any hold."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        lines = service.explain(session, kluis.clock, kluis.policy, _uuid(person, "person"))
    out.print(f"{len(lines)} record(s); due dates are days in Europe/Amsterdam", highlight=False, soft_wrap=True)
    for line in lines:
        held = ", ".join(f"hold {h.id} ({h.scope}: {h.reason})" for h in line.holds) or "no hold"
        trigger = f"{line.trigger} on {line.triggered_on}" if line.triggered_on else f"{line.trigger}: not yet"
        obligation = "  legal obligation: kept after an erasure request until due" if line.legal_obligation else ""
        out.print(f"{line.record_id}  {line.category:<12} rule {line.rule_id or '-'}  {trigger}  "
                  f"due {line.due_on or '-'}  {held}{obligation}", highlight=False, soft_wrap=True)


@app.command("sweep")
@domain_errors
def sweep(dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what is due; erase nothing.")] = False,
          batch: Annotated[int | None, typer.Option(
              "--batch", min=1, help="Records per transaction (default: KLUIS_RETENTION_SWEEP_BATCH).")] = None
          ) -> None:
    """Erase every record that is due and not held, in batches; stopped, run it again to finish."""
    kluis = wiring.for_cli()
    now = kluis.clock.now()
    if dry_run:
        with kluis.db.sessions() as session:
            report = sweeping.plan(session, now)
    else:
        with kluis.db.sessions() as session:
            total = sweeping.due_count(session, now)
        with progress("sweeping", total) as step:
            report = sweeping.sweep(kluis, actor=ACTOR, batch=batch, on_batch=step, now=now)
    verb = "would erase" if dry_run else "erased"
    out.print(f"{verb} {report.records} record(s) due before {now.isoformat()}; "
              f"{report.people} person(s) left with no data {'would be' if dry_run else 'were'} erased entirely",
              highlight=False, soft_wrap=True)
    for rule_id, tally in sorted(report.per_rule.items()):
        out.print(f"  {rule_id:<20} {tally.records:>10}  due {_day(tally.earliest)} .. {_day(tally.latest)}",
                  highlight=False, soft_wrap=True)
    _print_held(report.held.as_dict(), "")


def _print_held(held: dict[str, Any], indent: str) -> None:
    """Due records legal holds keep from the sweep: per rule, then per hold (R-RET-2)."""
    out.print(f"{indent}held back by legal holds: {held['records']} due record(s)", highlight=False, soft_wrap=True)
    for rule_id, count in held["rules"].items():
        out.print(f"{indent}  {rule_id:<20} {count:>10}", highlight=False, soft_wrap=True)
    for hold_id, hold in held["holds"].items():
        rules = ", ".join(f"{rule_id} {count}" for rule_id, count in hold["rules"].items())
        out.print(f"{indent}  hold {hold_id} ({hold['scope']}: {hold['reason']}) {hold['records']} record(s): {rules}",
                  highlight=False, soft_wrap=True)


@app.command("stamp")
@domain_errors
def stamp(restamp: Annotated[bool, typer.Option(
        "--all", help="Recompute every record's due date (after a change of the retention rules).")] = False,
          batch: Annotated[int, typer.Option("--batch", min=1, max=100_000)] = 2000) -> None:
    """Give records written before retention existed their rule and due date (resumable, in batches)."""
    kluis = wiring.for_cli()
    after: uuid.UUID | None = None
    changed = 0
    with progress("stamping", None) as step:
        while True:
            with kluis.db.transaction() as session:
                done, after = service.stamp_existing(session, kluis.clock, kluis.policy, ACTOR, after, batch,
                                                     restamp)
            changed += done
            step(done)
            if after is None:
                break
    out.print(f"stamped {changed} record(s)")


@app.command("sweeps")
@domain_errors
def sweeps(last: Annotated[int, typer.Option("--last", min=1, max=1000)] = 10) -> None:
    """The most recent sweeps with their totals: the evidence the DPO shows (also in the audit log)."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        runs = list(session.scalars(select(SweepRun).order_by(SweepRun.started_at.desc()).limit(last)))
    for run in runs:
        state = f"finished {run.finished_at.isoformat()}" if run.finished_at else "did not finish"
        out.print(f"{run.started_at.isoformat()}  {run.actor:<8} {run.records:>10} record(s) "
                  f"{run.people:>8} person(s)  {state}", highlight=False, soft_wrap=True)
        for rule_id, tally in sorted(run.per_rule.items()):
            out.print(f"    {rule_id:<20} {tally['records']:>10}", highlight=False, soft_wrap=True)
        if run.held is not None:  # counted when the run finished (runs before this was counted have none)
            _print_held(run.held, "    ")


def _hold_line(hold: Hold) -> str:
    target = hold.person_id or hold.category or hold.employer_id
    until = hold.until.isoformat() if hold.until else "until released"
    ended = f" released {hold.released_at.isoformat()}" if hold.released_at else ""
    return (f"{hold.id}  {hold.scope:<8} {target}  {hold.reason} {hold.reference or ''}  by {hold.recorded_by}  "
            f"from {hold.created_at.isoformat()}  {until}{ended}")


@hold_app.command("add")
@domain_errors
def hold_add(reason: Annotated[str, typer.Option("--reason", help=f"One of: {', '.join(holds.REASONS)}.")],
             person: Annotated[str | None, typer.Option("--person", help="Hold one person's data.")] = None,
             category: Annotated[str | None, typer.Option("--category", help="Hold a category.")] = None,
             employer: Annotated[str | None, typer.Option("--employer", help="Hold an employer's data.")] = None,
             reference: Annotated[str | None, typer.Option("--reference", help="Case number.")] = None,
             until: Annotated[datetime | None, typer.Option("--until", help="End date (UTC if no zone).")] = None,
             ) -> None:
    """Place a legal hold on one person, one category or one employer's data."""
    given = [name for name, value in (("person", person), ("category", category), ("employer", employer)) if value]
    if len(given) != 1:
        raise Invalid("give exactly one of --person, --category or --employer", code="hold_invalid")
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        hold = holds.place(session, kluis.clock, kluis.policy, ACTOR, scope=given[0], reason=reason,
                           person_id=_uuid(person, "person") if person else None, category=category,
                           employer_id=_uuid(employer, "employer") if employer else None, reference=reference,
                           until=until.replace(tzinfo=until.tzinfo or UTC) if until else None)
        out.print(f"placed {_hold_line(hold)}", highlight=False, soft_wrap=True)


@hold_app.command("list")
@domain_errors
def hold_list(include_ended: Annotated[bool, typer.Option("--all", help="Also released and expired holds.")] = False
              ) -> None:
    """The legal holds in force (or all of them)."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        found = holds.list_holds(session, kluis.clock, include_ended)
    for hold in found:
        out.print(_hold_line(hold), highlight=False, soft_wrap=True)
    out.print(f"{len(found)} hold(s)")


@hold_app.command("release")
@domain_errors
def hold_release(hold_id: Annotated[str, typer.Argument(help="The hold's id.")]) -> None:
    """End a legal hold: what it covered is swept when due again."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        hold = holds.release(session, kluis.clock, ACTOR, _uuid(hold_id, "hold"))
        out.print(f"released {_hold_line(hold)}", highlight=False, soft_wrap=True)
