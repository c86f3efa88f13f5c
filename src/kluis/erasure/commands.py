"""`kluis erasure` (queue, run and list erasure jobs), with `kluis erasure certificate` (export and verify) and
`kluis erasure restore` (bring a restored backup back in line with the erasure log)."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from kluis import schema, wiring
from kluis.erasure import certificate, replay
from kluis.erasure import service as erasure
from kluis.erasure.rules import JobState, Reason
from kluis.kit.cli import domain_errors, err, out, progress
from kluis.kit.clock import as_utc
from kluis.kit.errors import Invalid, Problem
from kluis.vault import erasure_log

app = typer.Typer(help="Erasure jobs (R-DSR-6): queue, run, list.", no_args_is_help=True)
certificate_app = typer.Typer(help="Certificates of erasure: export as JSON and PDF, verify.", no_args_is_help=True)
restore_app = typer.Typer(help="After restoring a backup: re-apply the erasures made since (R-VLT-5, docs/restore.md).",
                          no_args_is_help=True)
app.add_typer(certificate_app, name="certificate")
app.add_typer(restore_app, name="restore")


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


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise Invalid("--since is not an ISO 8601 instant with its offset", code="time_invalid",
                      problems=[Problem("since", "time_invalid", "e.g. 2026-11-25T03:00+01:00")])
    return as_utc(at)


@restore_app.command("replay")
@domain_errors
def replay_log(
        since: Annotated[str | None, typer.Option(
            help="The backup's point in time (ISO 8601 with offset): entries from then on. Default: every entry; "
                 "those whose effects are present change nothing.")] = None,
        log_file: Annotated[Path | None, typer.Option(
            "--log-file", help="The operator's copy of the erasure log (default: KLUIS_ERASURE_LOG_FILE, when it "
                               "exists); needed when the key store was restored too.")] = None) -> None:
    """Re-apply every erasure, suppression and key destruction the erasure log records since the backup: erased
    people's records, identifiers and profile go again, suppression entries come back, destroyed keys go again."""
    kluis = wiring.for_cli()
    schema.ensure_current(kluis.db)
    at = _since(since)
    copy = log_file
    configured = kluis.settings.erasure_log_file
    if copy is None and configured is not None:
        if configured.exists():
            copy = configured
        else:
            err.print(f"note: KLUIS_ERASURE_LOG_FILE ({configured}) does not exist (yet): replaying the key store's "
                      "log only", highlight=False)
    if copy is None and kluis.keystore.shared:
        err.print("warning: the key store shares the data database, so a restored backup brought back its erasure "
                  "log as old as itself; without the operator's copy (--log-file) the erasures made since the backup "
                  "are not known", highlight=False)
    chosen = replay.plan(kluis, at, copy)
    with progress("replaying erasures", len(chosen.keys())) as step:
        done = replay.replay(kluis, chosen, "cli", step)
    out.print(f"{done.entries} log entr{'y' if done.entries == 1 else 'ies'} replayed"
              + (f" ({done.imported} taken from {copy} into the key store)" if done.imported else "")
              + f": {done.people} erased {'person' if done.people == 1 else 'people'} brought back in line "
              f"({done.records} record(s), {done.identifiers} identifier(s) erased), {done.keys_destroyed} key(s) "
              f"destroyed, {done.suppressed} suppression entr{'y' if done.suppressed == 1 else 'ies'} restored, "
              f"{done.unsuppressed} removed", highlight=False)
    if done.kept_lost:
        err.print(f"note: {done.kept_lost} erased person(s) had records kept by law; the backup held them sealed "
                  "under the key their erasure destroyed, so they could not be kept (see the audit events "
                  "restore.erasure_replayed with kept_lost)", highlight=False)


@restore_app.command("export-log")
@domain_errors
def export_log(out_file: Annotated[Path, typer.Option("--out", help="A new file (JSON lines) to write.")],
               since: Annotated[str | None, typer.Option(help="Only entries from then on (ISO 8601, offset).")]
               = None) -> None:
    """Write the key store's erasure log to a file, to keep apart from the backups (docs/restore.md)."""
    kluis = wiring.for_cli()
    entries, _ = kluis.keystore.logged(_since(since))
    count = erasure_log.export(out_file, entries)
    out.print(f"wrote {count} erasure log entr{'y' if count == 1 else 'ies'} to {out_file}", highlight=False)
