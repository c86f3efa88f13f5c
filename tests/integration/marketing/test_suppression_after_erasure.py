"""R-CONS-2: erasing a person who was ever on the marketing list keeps their address's keyed digest on the
suppression list, also when they never opted out, so a partner list or re-import cannot bring them back."""

from __future__ import annotations

from sqlalchemy import select
from tests.integration.marketing.helpers import NOTICE, campaign, opted_in, person
from tests.integration.retention.retention_support import ams, erased
from tests.integration.retention.retention_support import person as retained_person

from kluis.consent.marketing.models import Suppression
from kluis.consent.marketing.service import Marketing
from kluis.erasure import service as erasure
from kluis.erasure.rules import Reason
from kluis.retention import sweep


def erase(kluis, person_id):
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, person_id, Reason.REQUEST, "test").id
    return erasure.Runner(kluis, "test").run(job_id)


def partner_import(kluis, email):
    """A partner's list brings the address back with a consent claim."""
    again = person(kluis, email)
    with kluis.db.transaction() as session:
        kluis.consents(session, "import").give(again, "marketing_email", method="form", notice_text=NOTICE,
                                               lang="nl")
    return again


def test_r_cons_2_erasure_of_a_subscriber_who_never_opted_out_suppresses_the_address(client, kluis, catcher):
    pid = person(kluis, "abonnee@example.nl")
    opted_in(client, kluis, catcher, pid)
    bystander = person(kluis, "nooit@example.nl")  # never on the list: erasing them keeps nothing
    erase(kluis, pid)
    erase(kluis, bystander)
    with kluis.db.sessions() as session:
        entries = session.scalars(select(Suppression)).all()
    assert [(e.list_id, e.route) for e in entries] == [("marketing_email", "erasure")]
    assert b"abonnee" not in entries[0].digest and len(entries[0].digest) == 32
    again = partner_import(kluis, "Abonnee@Example.nl")
    name = campaign(kluis)
    with kluis.db.sessions() as session:
        marketing = Marketing(session, kluis, "t")
        assert marketing.suppressed(again)
        assert list(marketing.audience(name)) == []
    with kluis.db.transaction() as session:
        assert Marketing(session, kluis, "test").send_campaign(name) == 0


def test_r_cons_2_erasure_after_an_opt_out_keeps_one_entry(client, kluis, catcher):
    pid = person(kluis, "weg@example.nl")
    opted_in(client, kluis, catcher, pid)
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").opt_out(pid, "account")
    erase(kluis, pid)
    with kluis.db.sessions() as session:
        assert [e.route for e in session.scalars(select(Suppression))] == ["account"]


def test_r_cons_2_a_subscriber_erased_by_the_retention_sweep_stays_suppressed(kluis, clock):
    """The sweep erases a marketing contact whose 36 months ran out: their address is suppressed too."""
    clock.set(ams(2024, 2, 29, 18))
    pid, _ = retained_person(kluis, "marketing", email="oud@example.nl", last_activity=ams(2024, 2, 29, 9))
    with kluis.db.transaction() as session:
        kluis.consents(session, "test").give(pid, "marketing_email", method="form", notice_text=NOTICE, lang="nl")
    clock.set(ams(2027, 2, 28, 0))
    assert sweep.sweep(kluis).people == 1 and erased(kluis, pid)
    again = partner_import(kluis, "oud@example.nl")
    with kluis.db.sessions() as session:
        assert [e.route for e in session.scalars(select(Suppression))] == ["erasure"]
        assert Marketing(session, kluis, "t").suppressed(again)
