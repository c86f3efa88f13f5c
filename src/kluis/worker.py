"""`kluis worker`: the second process role. It runs pollers against the database; run as many as needed.

A poller is anything with a ``name`` and ``poll(kluis) -> int``: claim what is due, do it, and say how
many items it handled (0: nothing due): deadline reminders, unverified requests (lapsed after 30 days), access
packages (build and expiry), expired authority-order exports, reminders of ending data-processing agreements,
the steps of held code mail that a page did not run after its answer, the mail outbox, the audit log's sealer
and its scheduled verification. Later job kinds add theirs to ``pollers()``; a kind whose jobs outlive a
transaction claims them with the shared lease (``kluis.jobs``).
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Annotated, Protocol

import typer

import kluis.subscriptions  # noqa: F401 - installs who reacts to which domain event
from kluis import schema, wiring
from kluis.audit.tasks import SealPoller, VerifyPoller
from kluis.breaches.tasks import DeadlinePoller, NotifyPoller
from kluis.changes.tasks import AnnouncementPoller, RestampPoller
from kluis.complaints.tasks import ComplaintPoller
from kluis.erasure.tasks import ErasurePoller
from kluis.kit import heap
from kluis.kit.cli import domain_errors, err, out
from kluis.mail.dkim import NO_KEY_WARNING, signer_of
from kluis.mail.tasks import AddressingPoller
from kluis.mail.worker import MailPoller
from kluis.orders.tasks import ExportExpiryPoller
from kluis.processors.tasks import AgreementPoller
from kluis.retention.tasks import SweepPoller
from kluis.rights.packages.tasks import PackagePoller
from kluis.rights.tasks import ReminderPoller, UnverifiedPoller
from kluis.wiring import Kluis

log = logging.getLogger("kluis.worker")

# Modules that register mail templates (``kluis.mail.service.register_template``) or the steps of held messages
# (``kluis.mail.addressing.register_step``) when imported: the worker must know every message type that the other
# roles may queue.
MESSAGE_MODULES: tuple[str, ...] = ("kluis.mail.notices", "kluis.consent.marketing.mail", "kluis.rights.mail",
                                     "kluis.rights.verification", "kluis.breaches.mail", "kluis.complaints.mail",
                                     "kluis.mijn.mail", "kluis.mijn.signin", "kluis.changes.mail",
                                     "kluis.disclosures.notices", "kluis.processors.mail")


class Poller(Protocol):
    name: str

    def poll(self, kluis: Kluis) -> int: ...


def pollers() -> list[Poller]:
    for module in MESSAGE_MODULES:
        importlib.import_module(module)
    # Mail before erasure: notices queued before an erasure leave while the address is still there. Held messages
    # whose step a crash left waiting are addressed first, so their mail leaves in the same round.
    # The sealer last: it links what the others committed in the same round; then, when due, the verifier.
    # Records dated again under a version that just took effect before the sweep erases by their dates.
    return [ReminderPoller(), ComplaintPoller(), UnverifiedPoller(), RestampPoller(), SweepPoller(), PackagePoller(),
            DeadlinePoller(), NotifyPoller(), AgreementPoller(), AnnouncementPoller(), ExportExpiryPoller(),
            AddressingPoller(), MailPoller(), ErasurePoller(), SealPoller(), VerifyPoller()]


def drain(kluis: Kluis, work: Sequence[Poller]) -> dict[str, int]:
    """Poll every poller until none has anything due; how many items each handled."""
    handled = {p.name: 0 for p in work}
    while True:
        round_total = 0
        for poller in work:
            done = poller.poll(kluis)
            handled[poller.name] += done
            round_total += done
        if round_total == 0:
            return handled


def run(kluis: Kluis, work: Sequence[Poller], stop: threading.Event, poll_seconds: float) -> None:
    """Poll until ``stop`` is set, resting ``poll_seconds`` whenever nothing was due. A failing poll
    (the database restarting, say) is logged and tried again after the rest."""
    while not stop.is_set():
        done = 0
        for poller in work:
            try:
                done += poller.poll(kluis)
            except Exception as exc:  # the loop outlives a bad moment; its text may hold values, so log the class
                log.error("poller %s failed: %s", poller.name, type(exc).__name__)
        if done == 0:
            stop.wait(poll_seconds)


def run_in_background(kluis: Kluis, work: Sequence[Poller] | None = None,
                      poll_seconds: float | None = None) -> Callable[[], None]:
    """Run the worker in a daemon thread of this process (the demo); returns the function that stops
    it, after the message in hand."""
    stop = threading.Event()
    thread = threading.Thread(target=run, name="kluis-worker", daemon=True,
                              args=(kluis, list(work) if work is not None else pollers(), stop,
                                    poll_seconds if poll_seconds is not None else kluis.settings.worker_poll_seconds))
    thread.start()

    def stop_worker() -> None:
        stop.set()
        thread.join(timeout=kluis.settings.smtp_timeout_seconds + 5)

    return stop_worker


@domain_errors
def worker(once: Annotated[bool, typer.Option("--once", help="Handle what is due now, then exit.")] = False,
           poll_seconds: Annotated[float | None, typer.Option(
               "--poll-seconds", min=0.1, help="Rest between polls when nothing is due "
                                               "(default: KLUIS_WORKER_POLL_SECONDS).")] = None) -> None:
    """Build access packages and delete expired ones, send queued mail (the outbox), run erasure jobs and the
    daily retention sweep. Run as many workers as needed: each message goes out once, each package is built
    by one worker, each record is erased once."""
    kluis = wiring.for_cli()
    schema.ensure_current(kluis.db)
    if signer_of(kluis.settings) is None:  # also refuses half a DKIM configuration before anything is sent
        log.warning(NO_KEY_WARNING)
        err.print(f"worker: {NO_KEY_WARNING}")
    work = pollers()
    if once:
        handled = drain(kluis, work)
        out.print("worker: " + ", ".join(f"{name} {count}" for name, count in handled.items()) + " handled")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    rest = poll_seconds if poll_seconds is not None else kluis.settings.worker_poll_seconds
    err.print(f"worker polling every {rest:g}s ({', '.join(p.name for p in work)}); stop with Ctrl-C or SIGTERM")
    heap.settle()  # built for the process's lifetime: out of the collector's way (kluis.kit.heap)
    run(kluis, work, stop, rest)
    err.print("worker stopped")
