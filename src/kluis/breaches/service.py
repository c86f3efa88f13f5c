"""Use cases of the breach register (R-GOV-3): report an incident, derive and freeze the affected people,
decide on the risk, file with the AP (and follow up), remind the DPOs of the 72-hour deadline, notify the
people concerned. Services never commit: the request, command or job commits once. Each change writes one
audit event with ids, counts, categories and codes: never the texts, which are sealed at rest."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.breaches import repository as repo
from kluis.breaches import rules
from kluis.breaches.models import Breach, BreachFiling
from kluis.kit.clock import as_utc
from kluis.kit.errors import Conflict, Invalid, NotFound, Problem
from kluis.kit.i18n import N_
from kluis.kit.ids import new_id
from kluis.mail import service as mail
from kluis.staff import service as staff_service
from kluis.vault.resealing import SealedColumn

if TYPE_CHECKING:
    from kluis.wiring import Kluis

TEXTS = ("summary", "systems", "consequences", "measures")
MAX_TEXT = 10_000
NOTIFY_BATCH = 500
REMINDER_TEMPLATE = "breach_reminder"
PERSON_TEMPLATE = "breach_person"
# The purpose of every use of the affected people's data here: remedying a breach of security (the policy's
# "security" purpose), as Art. 33 and 34 oblige.
PURPOSE = "security"


@dataclass(frozen=True)
class IncidentIn:
    aware_at: datetime
    happened_from: datetime
    happened_until: datetime | None
    nature: Sequence[str]
    categories: Sequence[str]
    subject_types: Sequence[str]
    summary: str
    systems: str = ""
    consequences: str = ""
    measures: str = ""
    employer_ids: Sequence[uuid.UUID] = ()
    cross_border: bool = False


def reference(breach_id: uuid.UUID) -> str:
    text = breach_id.hex[:8].upper()
    return f"BR-{text[:4]}-{text[4:]}"


def _context(row_id: uuid.UUID, field: str) -> bytes:
    return b"breach|" + row_id.bytes + b"|" + field.encode()


def _field_context(field: str, row_id: uuid.UUID) -> bytes:
    return _context(row_id, field)


# What the master key seals here (each bound to its row and field), sealed anew when it rotates.
SEALED = tuple(SealedColumn(column, partial(_field_context, column.key))
               for column in (Breach.texts, Breach.risk_reason, BreachFiling.late_reason, BreachFiling.changes,
                              BreachFiling.form))


@dataclass
class Breaches:
    session: Session
    kluis: Kluis
    actor: str

    # --- sealing: free text is bound to its breach and field -----------------------------------

    def _seal(self, breach_id: uuid.UUID, field: str, text: str) -> bytes:
        return self.kluis.keys.seal_secret(_context(breach_id, field), text.encode())

    def _open(self, breach_id: uuid.UUID, field: str, sealed: bytes | None) -> str:
        if sealed is None:
            return ""
        return self.kluis.keys.open_secret(_context(breach_id, field), sealed).decode()

    def texts(self, breach: Breach) -> dict[str, str]:
        """The incident's free texts, opened to be shown to staff who handle it."""
        return dict(json.loads(self._open(breach.id, "texts", breach.texts)))

    def risk_reason(self, breach: Breach) -> str:
        return self._open(breach.id, "risk_reason", breach.risk_reason)

    def filing_texts(self, filing: BreachFiling) -> dict[str, str]:
        return {"late_reason": self._open(filing.id, "late_reason", filing.late_reason),
                "changes": self._open(filing.id, "changes", filing.changes)}

    # --- report ----------------------------------------------------------------------------------

    def report(self, incident: IncidentIn) -> Breach:
        """Register an incident. Awareness may lie in the past (a breach noticed during the weekend and
        registered on Monday keeps its real clock), never in the future."""
        now = self.kluis.clock.now()
        problems = rules.check_incident(
            aware_at=incident.aware_at, happened_from=incident.happened_from,
            happened_until=incident.happened_until, natures=incident.nature, categories=incident.categories,
            subject_types=incident.subject_types, known_categories=self.kluis.policy.category_ids,
            known_subjects=self.kluis.policy.subject_ids, summary=incident.summary, now=now)
        problems += self._check_employers(incident.employer_ids)
        problems += [Problem(name, "too_long", N_("at most %(count)s characters", count=f"{MAX_TEXT:,}"))
                     for name in TEXTS if len(getattr(incident, name)) > MAX_TEXT]
        if problems:
            raise Invalid(N_("the incident was not registered"), code="breach_invalid", problems=problems)
        offset = incident.aware_at.utcoffset()
        breach_id = new_id()
        breach = Breach(
            id=breach_id, aware_at=as_utc(incident.aware_at),
            aware_offset_minutes=int(offset.total_seconds() // 60) if offset else 0,
            deadline_at=rules.ap_deadline(incident.aware_at), happened_from=as_utc(incident.happened_from),
            happened_until=as_utc(incident.happened_until) if incident.happened_until else None,
            nature=sorted(set(incident.nature)), categories=sorted(set(incident.categories)),
            subject_types=sorted(set(incident.subject_types)),
            employer_ids=sorted({str(e) for e in incident.employer_ids}), cross_border=incident.cross_border,
            texts=self._seal(breach_id, "texts", json.dumps({name: getattr(incident, name).strip()
                                                              for name in TEXTS})),
            reported_by=self.actor, reported_at=now, reminders_sent=[], notified=0, skipped=0, updated_at=now)
        self.session.add(breach)
        self.session.flush()
        self._audit(breach, "breach.reported", nature=breach.nature, categories=breach.categories,
                    subject_types=breach.subject_types, employers=len(breach.employer_ids),
                    deadline_at=breach.deadline_at.isoformat())
        return breach

    def _check_employers(self, employer_ids: Sequence[uuid.UUID]) -> list[Problem]:
        known = repo.known_employers(self.session, employer_ids)
        return [Problem("employer_ids", "employer_unknown", N_("no employer %(id)s", id=e))
                for e in employer_ids if e not in known]

    def amend(self, breach_id: uuid.UUID, texts: dict[str, str], happened_until: datetime | None = None) -> Breach:
        """New facts: replace some of the texts (what happened, systems, consequences, measures) and set when the
        breach ended. The people's mail reads the texts at send time; the AP hears of it by a follow-up filing."""
        problems = [Problem(name, "field_unknown", N_("one of: %(choices)s", choices=", ".join(TEXTS)))
                    for name in texts if name not in TEXTS]
        problems += [Problem(name, "too_long", N_("at most %(count)s characters", count=f"{MAX_TEXT:,}"))
                     for name, text in texts.items() if len(text) > MAX_TEXT]
        if texts.get("summary", "x").strip() == "":
            problems.append(Problem("summary", "summary_required", N_("say briefly what happened")))
        breach = self.get(breach_id, lock=True)
        if happened_until is not None:
            if happened_until.tzinfo is None:
                problems.append(Problem("happened_until", "timezone_required", N_("give the instant with its offset")))
            elif happened_until > self.kluis.clock.now() or happened_until < breach.happened_from:
                problems.append(Problem("happened_until", "out_of_period",
                                        N_("the end lies between the breach's start and now")))
        if not texts and happened_until is None:
            problems.append(Problem("texts", "nothing_to_amend", N_("give at least one fact that changed")))
        if problems:
            raise Invalid(N_("the breach was not amended"), code="breach_invalid", problems=problems)
        current = self.texts(breach) | {name: text.strip() for name, text in texts.items()}
        breach.texts = self._seal(breach.id, "texts", json.dumps(current))
        if happened_until is not None:
            breach.happened_until = as_utc(happened_until)
        breach.updated_at = self.kluis.clock.now()
        self._audit(breach, "breach.amended", fields=sorted(texts) + (["happened_until"] if happened_until else []))
        return breach

    # --- read ------------------------------------------------------------------------------------

    def get(self, breach_id: uuid.UUID, lock: bool = False) -> Breach:
        found = repo.get(self.session, breach_id, lock=lock)
        if found is None:
            raise NotFound(N_("No such breach in the register."), code="breach_not_found")
        return found

    def employers(self) -> list[tuple[uuid.UUID, str]]:
        """(id, name) of the employers a breach can concern, for the report form."""
        return repo.employers(self.session)

    def register(self) -> list[Breach]:
        return repo.all_breaches(self.session)

    def filings(self, breach_id: uuid.UUID) -> list[BreachFiling]:
        return repo.filings(self.session, breach_id)

    def count_affected(self, breach: Breach) -> int:
        """The people the breach concerns now (before the decision) or as frozen (after it)."""
        if breach.risk is not None:
            return repo.count_snapshot(self.session, breach.id)
        return repo.count_affected(self.session, breach)

    def affected_page(self, breach: Breach, after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
        self._audit(breach, "breach.affected_listed", purpose=PURPOSE, after=str(after) if after else None,
                    limit=limit)
        if breach.risk is not None:
            return [person_id for person_id, _ in repo.snapshot_page(self.session, breach.id, after, limit)]
        return repo.affected_page(self.session, breach, after, limit)

    def stream_affected(self, breach: Breach) -> Iterator[uuid.UUID]:
        """Every person concerned, in constant memory (one statement read a page at a time)."""
        self._audit(breach, "breach.affected_listed", purpose=PURPOSE, after=None, limit=None)
        if breach.risk is None:
            yield from repo.stream_affected(self.session, breach)
        else:
            yield from repo.stream_snapshot(self.session, breach.id)

    # --- decide ----------------------------------------------------------------------------------

    def decide(self, breach_id: uuid.UUID, risk: str, reason: str) -> Breach:
        """The DPO's assessment, with its reason; the affected people are frozen with it. It can be revised
        (new facts) until the people concerned are being notified."""
        problems = rules.check_decision(risk, reason)
        if problems:
            raise Invalid(N_("the decision was not recorded"), code="decision_invalid", problems=problems)
        breach = self.get(breach_id, lock=True)
        if breach.notify_state is not None:
            raise Conflict(N_("The people concerned are already being notified; the decision stands."),
                           code="breach_notifying")
        now = self.kluis.clock.now()
        previous = breach.risk
        breach.risk, breach.decided_by, breach.decided_at, breach.updated_at = risk, self.actor, now, now
        breach.risk_reason = self._seal(breach.id, "risk_reason", reason.strip())
        breach.affected = repo.freeze(self.session, breach)
        self._audit(breach, "breach.decided", risk=risk, previous=previous, affected=breach.affected, purpose=PURPOSE)
        return breach

    # --- the AP ----------------------------------------------------------------------------------

    def file(self, breach_id: uuid.UUID, *, ap_reference: str, filed_at: datetime | None = None,
             late_reason: str = "", changes: str = "", form: dict[str, Any]) -> BreachFiling:
        """Record that the notification (or a follow-up) was filed with the AP. Filing the first notification
        after the deadline needs the reasons for the delay (Art. 33(1)); a follow-up says what changed."""
        breach = self.get(breach_id, lock=True)
        now = self.kluis.clock.now()
        at = filed_at or now
        follow_up = breach.ap_filed_at is not None
        late = not follow_up and rules.is_late(breach.deadline_at, at)
        problems = []
        if not ap_reference.strip():
            problems.append(Problem("ap_reference", "reference_required", N_("the reference the AP gave the filing")))
        if len(ap_reference) > 80:
            problems.append(Problem("ap_reference", "too_long", N_("at most 80 characters")))
        if at.tzinfo is None:
            problems.append(Problem("filed_at", "timezone_required", N_("give the instant with its offset")))
        elif at > now:
            problems.append(Problem("filed_at", "in_future", N_("record a filing once it was made")))
        elif at < breach.aware_at:
            problems.append(Problem("filed_at", "before_awareness", N_("the filing cannot precede awareness")))
        if late and not late_reason.strip():
            problems.append(Problem("late_reason", "late_reason_required",
                                    f"filed after the deadline ({rules.amsterdam(breach.deadline_at)}): give the "
                                    "reasons for the delay (Art. 33(1))"))
        if follow_up and not changes.strip():
            problems.append(Problem("changes", "changes_required", N_("a follow-up says which facts changed")))
        if problems:
            raise Invalid(N_("the filing was not recorded"), code="filing_invalid", problems=problems)
        if not rules.needs_ap(breach.risk):
            raise Conflict(N_("Decide that the breach is a risk before filing it with the AP."),
                           code="breach_not_for_ap")
        filing_id = new_id()
        filing = BreachFiling(
            id=filing_id, breach_id=breach.id, kind="follow_up" if follow_up else "initial", filed_at=as_utc(at),
            filed_by=self.actor, ap_reference=ap_reference.strip(), late=late,
            late_reason=self._seal(filing_id, "late_reason", late_reason.strip()) if late else None,
            changes=self._seal(filing_id, "changes", changes.strip()) if follow_up else None,
            form=self._seal(filing_id, "form", json.dumps(form, ensure_ascii=False)), recorded_at=now)
        self.session.add(filing)
        if not follow_up:
            breach.ap_filed_at = as_utc(at)
        breach.updated_at = now
        self.session.flush()
        self._audit(breach, "breach.filed", filing_id=str(filing.id), kind=filing.kind, late=late)
        return filing

    # --- reminders to the DPOs --------------------------------------------------------------------

    def send_reminders(self) -> int:
        """Mail every DPO 24 h and 4 h before the AP deadline and once it passed unfiled; each reminder once."""
        now = self.kluis.clock.now()
        horizon = now + rules.REMINDER_BEFORE[rules.Reminder.DAY]
        dpos = None
        sent = 0
        for breach in repo.unfiled_needing_reminder(self.session, horizon):
            due = rules.due_reminder(breach.deadline_at, now, breach.reminders_sent or [])
            if due is None:
                continue
            if dpos is None:
                dpos = staff_service.active_dpos(self.session, now)
            breach.reminders_sent = [*(breach.reminders_sent or []), due.value]
            self._audit(breach, "breach.reminded", reminder=due.value, staff=len(dpos))
            for dpo in dpos:  # each in the language they chose (docs/i18n.md)
                mail.enqueue(self.session, self.kluis.clock, template=REMINDER_TEMPLATE, staff_id=dpo.id,
                             lang=staff_service.mail_language(dpo, self.kluis.settings), actor=self.actor,
                             context={"breach_id": str(breach.id), "reminder": due.value})
            sent += 1
        return sent

    # --- notifying the people concerned (Art. 34) -------------------------------------------------

    def start_notifying(self, breach_id: uuid.UUID) -> Breach:
        breach = self.get(breach_id, lock=True)
        if not rules.needs_people(breach.risk):
            raise Conflict(N_("Only a breach decided as high risk is told to the people concerned (Art. 34)."),
                           code="breach_not_high_risk")
        if breach.notify_state is not None:
            raise Conflict(N_("The people concerned are already being (or have been) notified."),
                           code="breach_notifying")
        now = self.kluis.clock.now()
        breach.notify_state, breach.notify_started_at, breach.updated_at = "running", now, now
        self._audit(breach, "breach.notify_started", affected=breach.affected)
        return breach

    def notify_next(self, batch: int = NOTIFY_BATCH) -> int:
        """Queue the next batch of people's mails of one breach being notified, and move its cursor in the same
        transaction: a worker that dies resumes after the last committed batch, nobody is mailed twice. A person
        erased meanwhile is skipped (counted), never looked up in any other way."""
        breach = repo.notifying(self.session)
        if breach is None:
            return 0
        page = repo.snapshot_page(self.session, breach.id, breach.notify_after, batch)
        now = self.kluis.clock.now()
        if not page:
            # Whoever of the frozen people was not mailed was erased meanwhile (their row may be gone entirely).
            breach.skipped = max(breach.skipped, (breach.affected or 0) - breach.notified)
            breach.notify_state, breach.notify_done_at, breach.updated_at = "done", now, now
            self._audit(breach, "breach.notify_done", notified=breach.notified, skipped=breach.skipped)
            return 1
        held = [person_id for person_id, is_held in page if is_held]
        langs = repo.languages(self.session, held)
        for person_id in held:
            mail.enqueue(self.session, self.kluis.clock, template=PERSON_TEMPLATE, person_id=person_id,
                         lang=langs.get(person_id, "nl"), actor=self.actor, context={"breach_id": str(breach.id)})
        breach.notified += len(held)
        breach.skipped += len(page) - len(held)
        breach.notify_after, breach.updated_at = page[-1][0], now
        self._audit(breach, "breach.notified", purpose=PURPOSE, people=len(held), skipped=len(page) - len(held))
        return len(page)

    # --- audit -----------------------------------------------------------------------------------

    def _audit(self, breach: Breach, action: str, **details: Any) -> None:
        audit.append(self.session, self.kluis.clock, actor=self.actor, action=action, object_type="breach",
                     object_ids=[breach.id], details=details)

    def audit_export(self, rows: Sequence[Breach]) -> None:
        audit.append(self.session, self.kluis.clock, actor=self.actor, action="breach.register_exported",
                     object_type="breach", object_ids=[b.id for b in rows][:100], details={"breaches": len(rows)})

    def audit_draft(self, breach: Breach, fmt: str) -> None:
        self._audit(breach, "breach.draft_downloaded", format=fmt)
