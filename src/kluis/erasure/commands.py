"""`kluis erasure` (queue, run and list erasure jobs) and `kluis certificate` (export and verify)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer

from kluis import wiring
from kluis.erasure import certificate
from kluis.erasure import service as erasure
from kluis.erasure.rules import JobState, Reason
from kluis.kit.cli import domain_errors, err, out
from kluis.kit.errors import Invalid

app = typer.Typer(help="Erasure jobs (R-DSR-6): queue, run, list.", no_args_is_help=True)
certificate_app = typer.Typer(help="Certificates of erasure: export as JSON and PDF, verify.", no_args_is_help=True)


@app.command("queue")
@domain_errors
def queue(person_id: uuid.UUID,
          reason: Annotated[str, typer.Option(help="Why: staff (default) or retention.")] = "staff") -> None:
    """Queue the erasure of a person; `kluis worker` or `kluis erasure run` carries it out."""
    if reason not in (Reason.STAFF, Reason.RETENTION):
        raise Invalid("reason is staff or retention (requests queue their own job)", code="reason_invalid")
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        job = erasure.queue(session, kluis, person_id, Reason(reason), "cli")
        job_id = job.id
    out.print(f"erasure job {job_id} queued")


@app.command("run")
@domain_errors
def run(job_id: Annotated[uuid.UUID | None, typer.Argument(help="One job; without it, every job that is due.")]
        = None,
        take_over: Annotated[bool, typer.Option(
            "--take-over", help="With a job: run it even though a worker holds it (only when that worker is dead). "
                                "Without: first take over every job whose worker's lease has lapsed.")]
        = False) -> None:
    """Carry out erasure jobs now. A job stopped at any point resumes where it was."""
    kluis = wiring.for_cli()
    runner = erasure.Runner(kluis, actor="cli")
    if job_id is not None:
        job = runner.run(job_id, take_over=take_over)
        out.print(f"erasure job {job.id}: {job.state} (step {job.step})"
                  + (f" — {job.last_error}" if job.last_error else ""), highlight=False)
        if job.state != JobState.DONE:
            raise typer.Exit(3)
        return
    total = 0
    if take_over:
        taken, total = runner.take_over_lapsed()
        out.print(f"{len(taken)} erasure job(s) taken over" + (f": {', '.join(map(str, taken))}" if taken else ""),
                  highlight=False)
    while done := runner.run_due():
        total += done
    out.print(f"{total} erasure job(s) done")


@app.command("list")
@domain_errors
def list_jobs() -> None:
    """Recent jobs: id, state, step, attempts and what a waiting job waits for."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        for job in erasure.jobs(session):
            typer.echo(f"{job.id}  {job.state:8}  {job.step:12}  attempts={job.attempts}  "
                       f"{job.reason:9}  {job.last_error or ''}".rstrip())


@certificate_app.command("export")
@domain_errors
def export(job_id: uuid.UUID, out_dir: Annotated[Path, typer.Option("--out", help="Directory to write to.")]
           = Path(".")) -> None:
    """Write a finished job's certificate as JSON and PDF."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        job = erasure.job_of(session, job_id)
        if job.certificate is None:
            raise Invalid("this job has no certificate yet", code="certificate_not_ready")
        text = job.certificate
    json_path, pdf_path = certificate.write_files(text, out_dir, f"erasure-{job_id}")
    out.print(f"wrote {json_path} and {pdf_path}", highlight=False)


@certificate_app.command("verify")
@domain_errors
def verify(file: Annotated[Path, typer.Argument(help="The certificate's JSON (or its PDF, beside the JSON).")],
           public_key: Annotated[str | None, typer.Option(
               help="Trust only this public key (base64url); default: this Kluis's configured key.")] = None) -> None:
    """Check a certificate of erasure: exit 0 when genuine, 1 with the reason when not."""
    json_path, pdf_path = (file.with_suffix(".json"), file) if file.suffix.lower() == ".pdf" else (file, None)
    if pdf_path is None and file.with_suffix(".pdf").exists():
        pdf_path = file.with_suffix(".pdf")
    trusted = certificate.trusted_key(public_key)
    try:
        text = json_path.read_bytes()
    except OSError as exc:
        raise Invalid(f"cannot read {json_path}: {exc.strerror}", code="certificate_unreadable") from None
    try:
        facts = certificate.verify(text, trusted)
        if pdf_path is not None:
            certificate.verify_pdf(pdf_path.read_bytes(), text)
    except certificate.NotGenuine as exc:
        err.print(f"NOT GENUINE: {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    kept = sum(k["records"] for k in facts["kept"])
    erased = sum(c["records"] for c in facts["erased"]["categories"])
    out.print(f"genuine: certificate {facts['certificate_id']} for person {facts['person_id']}, issued "
              f"{facts['issued_at']}: {erased} record(s) erased, {kept} kept"
              + (f"; PDF {pdf_path.name} matches" if pdf_path else ""), highlight=False)
    if trusted is None:
        err.print("note: no trusted key configured or given (--public-key): only the certificate's integrity "
                  "under its own embedded key was checked", highlight=False)


@certificate_app.command("public-key")
@domain_errors
def public_key() -> None:
    """Print the public key that verifies this Kluis's certificates (to give to whoever checks them)."""
    typer.echo(certificate.public_text(certificate.configured_key().public_key()))
