"""`kluis breaches`: the breach register from the command line (R-GOV-3), for the DPO on the server: report,
list, show one, stream the affected people, decide, draft the AP notification, record the filing, notify people,
export the register."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from kluis import wiring
from kluis.breaches import form, rules
from kluis.breaches.service import Breaches, IncidentIn, reference
from kluis.kit.cli import domain_errors, out
from kluis.kit.errors import Invalid, Problem

app = typer.Typer(help="The breach register: 72-hour clock, affected people, AP and people notified (R-GOV-3).",
                  no_args_is_help=True)
ACTOR = "cli"


def _uuid(text: str, name: str = "breach") -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise Invalid(f"'{text}' is not a {name} id", code=f"{name}_id_invalid",
                      problems=[Problem(name, "uuid_invalid", "give the id (a UUID)")]) from None


def _instant(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{name} is not an ISO 8601 instant", code="time_invalid",
                      problems=[Problem(name, "time_invalid", "e.g. 2026-10-25T01:30+02:00")]) from None


@app.command("report")
@domain_errors
def report(aware_at: Annotated[str, typer.Option("--aware-at", help="ISO 8601, offset: 2026-10-25T01:30+02:00")],
           happened_from: Annotated[str, typer.Option("--from", help="When the breach began (ISO 8601, offset).")],
           summary: Annotated[str, typer.Option("--summary", help="What happened.")],
           nature: Annotated[list[str], typer.Option("--nature", help="confidentiality|integrity|availability")],
           category: Annotated[list[str], typer.Option("--category", help="A category id of the policy; repeat.")],
           subject: Annotated[list[str], typer.Option("--subject", help="A data subject id of the policy; repeat.")],
           happened_until: Annotated[str | None, typer.Option("--until", help="When it ended.")] = None,
           employer: Annotated[list[str] | None, typer.Option("--employer", help="An employer id; repeat.")] = None,
           systems: Annotated[str, typer.Option("--systems")] = "",
           consequences: Annotated[str, typer.Option("--consequences")] = "",
           measures: Annotated[str, typer.Option("--measures")] = "",
           cross_border: Annotated[bool, typer.Option("--cross-border")] = False) -> None:
    """Register an incident; prints its id and the AP deadline in Amsterdam time."""
    kluis = wiring.for_cli()
    aware, began = _instant(aware_at, "--aware-at"), _instant(happened_from, "--from")
    assert aware is not None and began is not None
    with kluis.db.transaction() as session:
        breach = Breaches(session, kluis, ACTOR).report(IncidentIn(
            aware_at=aware, happened_from=began, happened_until=_instant(happened_until, "--until"), nature=nature,
            categories=category, subject_types=subject, summary=summary, systems=systems, consequences=consequences,
            measures=measures, employer_ids=[_uuid(e, "employer") for e in employer or []],
            cross_border=cross_border))
    out.print(f"{breach.id} {reference(breach.id)} AP deadline {rules.amsterdam(breach.deadline_at)}",
              highlight=False, soft_wrap=True)


@app.command("list")
@domain_errors
def list_breaches() -> None:
    """Every incident: id, reference, deadline and countdown, decision, filing, notification."""
    kluis = wiring.for_cli()
    now = kluis.clock.now()
    with kluis.db.sessions() as session:
        for b in Breaches(session, kluis, ACTOR).register():
            clock = "filed" if b.ap_filed_at else rules.countdown(b.deadline_at, now)
            out.print(f"{b.id} {reference(b.id)} deadline {rules.amsterdam(b.deadline_at)} ({clock}) "
                      f"risk {b.risk or '-'} people {b.notify_state or '-'} {b.notified}/{b.affected or 0}",
                      highlight=False, soft_wrap=True)


@app.command("show")
@domain_errors
def show(breach: Annotated[str, typer.Argument(help="The breach's id.")]) -> None:
    """One incident: its clock, facts, decision, filings and notification progress."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        breaches = Breaches(session, kluis, ACTOR)
        found = breaches.get(_uuid(breach))
        texts, filings = breaches.texts(found), breaches.filings(found.id)
        lines = [f"{reference(found.id)}  aware {rules.amsterdam(found.aware_at)}",
                 f"AP deadline {rules.amsterdam(found.deadline_at)} "
                 f"({'filed' if found.ap_filed_at else rules.countdown(found.deadline_at, kluis.clock.now())})",
                 f"nature {', '.join(found.nature)}; categories {', '.join(found.categories)}; "
                 f"subjects {', '.join(found.subject_types)}; people {breaches.count_affected(found)}",
                 *(f"{name}: {texts.get(name, '')}" for name in ("summary", "systems", "consequences", "measures")),
                 f"decision: {found.risk or 'not decided'} {breaches.risk_reason(found)}",
                 *(f"filing {f.kind} {f.filed_at.isoformat()} {f.ap_reference}{' late' if f.late else ''}"
                   for f in filings),
                 f"people notified: {found.notify_state or '-'} {found.notified} mailed, {found.skipped} skipped"]
    for line in lines:
        out.print(line, highlight=False, soft_wrap=True, markup=False)


@app.command("affected")
@domain_errors
def affected(breach: Annotated[str, typer.Argument(help="The breach's id.")],
             count: Annotated[bool, typer.Option("--count", help="Only the number.")] = False) -> None:
    """The person ids concerned, one a line, streamed in pages (constant memory at any size)."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, ACTOR)
        found = breaches.get(_uuid(breach))
        if count:
            out.print(str(breaches.count_affected(found)))
            return
        for person_id in breaches.stream_affected(found):
            sys.stdout.write(f"{person_id}\n")


@app.command("amend")
@domain_errors
def amend(breach: Annotated[str, typer.Argument(help="The breach's id.")],
          summary: Annotated[str | None, typer.Option("--summary")] = None,
          systems: Annotated[str | None, typer.Option("--systems")] = None,
          consequences: Annotated[str | None, typer.Option("--consequences")] = None,
          measures: Annotated[str | None, typer.Option("--measures")] = None,
          happened_until: Annotated[str | None, typer.Option("--until", help="When it ended (ISO 8601).")] = None
          ) -> None:
    """New facts: replace texts, set when the breach ended; tell the AP with `kluis breaches file --changes`."""
    kluis = wiring.for_cli()
    given = {"summary": summary, "systems": systems, "consequences": consequences, "measures": measures}
    with kluis.db.transaction() as session:
        Breaches(session, kluis, ACTOR).amend(_uuid(breach), {k: v for k, v in given.items() if v is not None},
                                              _instant(happened_until, "--until"))
    out.print(f"{breach} amended", highlight=False)


@app.command("decide")
@domain_errors
def decide(breach: Annotated[str, typer.Argument(help="The breach's id.")],
           risk: Annotated[str, typer.Option("--risk", help="no_risk | risk | high_risk")],
           reason: Annotated[str, typer.Option("--reason", help="Why (required).")] = "") -> None:
    """Record the risk decision with its reason; freezes the affected people."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        decided = Breaches(session, kluis, ACTOR).decide(_uuid(breach), risk, reason)
    out.print(f"{decided.id} decided {decided.risk}: {decided.affected} people concerned", highlight=False)


@app.command("draft")
@domain_errors
def draft(breach: Annotated[str, typer.Argument(help="The breach's id.")],
          output: Annotated[Path, typer.Option("--output", "-o", help="Write here (.json or .pdf).")]) -> None:
    """The AP notification form filled from the register (Dutch), as JSON or PDF by the file's extension."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, ACTOR)
        found = breaches.get(_uuid(breach))
        filled = form.draft(breaches, found, follow_up=found.ap_filed_at is not None)
        pdf = output.suffix.lower() == ".pdf"
        breaches.audit_draft(found, "pdf" if pdf else "json")
    if pdf:
        output.write_bytes(form.as_pdf(filled))
    else:
        output.write_text(form.as_json(filled), encoding="utf-8")
    out.print(f"wrote {output}", highlight=False)


@app.command("file")
@domain_errors
def file(breach: Annotated[str, typer.Argument(help="The breach's id.")],
         ap_reference: Annotated[str, typer.Option("--ap-reference", help="The AP's reference of the filing.")],
         filed_at: Annotated[str | None, typer.Option("--filed-at", help="ISO 8601 (default: now).")] = None,
         late_reason: Annotated[str, typer.Option("--late-reason", help="Required after the deadline.")] = "",
         changes: Annotated[str, typer.Option("--changes", help="A follow-up: what changed.")] = "") -> None:
    """Record that the AP was notified (or a follow-up was sent)."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, ACTOR)
        found = breaches.get(_uuid(breach))
        filled = form.draft(breaches, found, follow_up=found.ap_filed_at is not None, late_reason=late_reason)
        filing = breaches.file(found.id, ap_reference=ap_reference, filed_at=_instant(filed_at, "--filed-at"),
                               late_reason=late_reason, changes=changes, form=filled)
    out.print(f"{filing.kind} filing {filing.id} recorded{' (late)' if filing.late else ''}", highlight=False)


@app.command("notify")
@domain_errors
def notify(breach: Annotated[str, typer.Argument(help="The breach's id.")]) -> None:
    """Start mailing the people concerned by a high-risk breach; the worker sends them in batches."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        started = Breaches(session, kluis, ACTOR).start_notifying(_uuid(breach))
    out.print(f"notifying {started.affected} people; `kluis worker` sends the mails", highlight=False)


@app.command("export")
@domain_errors
def export(output: Annotated[Path, typer.Option("--output", "-o", help="The CSV file to write.")]) -> None:
    """The whole register as CSV (Art. 33(5)), notified or not."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        text = form.register_csv(Breaches(session, kluis, ACTOR))
    output.write_text(text, encoding="utf-8")
    out.print(f"wrote {output}", highlight=False)
