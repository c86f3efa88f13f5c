"""The blind index as its own table (issue 20 item 1, R-VLT-2, R-VLT-5): it follows every change of a person's
identifiers, and an erased person's addresses can no longer be confirmed."""

from __future__ import annotations

from sqlalchemy import select
from tests.integration.erasure.erasure_support import person_with_everything

from kluis.erasure import service as erasure
from kluis.erasure.rules import Reason
from kluis.vault.models import Identifier, IdentifierLookup
from kluis.vault.schemas import IdentifierIn, PersonIn, PersonPatch


def _index(kluis):
    with kluis.db.sessions() as session:
        lookups = {(r.kind, r.digest, r.person_id) for r in session.scalars(select(IdentifierLookup))}
        owned = {(r.kind, r.digest, r.person_id) for r in session.scalars(select(Identifier))}
    return lookups, owned


def _whose(kluis, kind, value):
    with kluis.db.sessions() as session:
        return kluis.vault(session, "test").identified(IdentifierIn(kind=kind, value=value))


def test_r_vlt_2_the_index_follows_identifiers_added_and_removed(kluis):
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        person = vault.create_person(
            PersonIn(
                subject_types=["lead"],
                identifiers=[
                    IdentifierIn(kind="email", value="oud@example.nl"),
                    IdentifierIn(kind="phone", value="0612345678"),
                ],
            )
        )
    with kluis.db.transaction() as session:
        kluis.vault(session, "test").update_person(
            person.id,
            PersonPatch(
                add_identifiers=[IdentifierIn(kind="email", value="nieuw@example.nl")],
                remove_identifiers=[IdentifierIn(kind="email", value="oud@example.nl")],
            ),
        )
    lookups, owned = _index(kluis)
    assert lookups == owned and len(lookups) == 2
    assert _whose(kluis, "email", "oud@example.nl") is None
    assert _whose(kluis, "email", "nieuw@example.nl") == person.id
    # The address let go is free for someone else.
    with kluis.db.transaction() as session:
        other = kluis.vault(session, "test").create_person(
            PersonIn(subject_types=["lead"], identifiers=[IdentifierIn(kind="email", value="oud@example.nl")])
        )
    assert _whose(kluis, "email", "oud@example.nl") == other.id


def test_r_vlt_5_an_erased_address_is_no_longer_confirmable(kluis):
    person_id, _ = person_with_everything(kluis, email="weg@example.nl")
    shredded, _ = person_with_everything(kluis, email="ook-weg@example.nl", phone="0687654321")
    keep, _ = person_with_everything(kluis, email="blijft@example.nl", phone="0611112222")
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, person_id, Reason.STAFF, "test").id
    erasure.Runner(kluis, "test").run(job_id)
    with kluis.db.transaction() as session:
        kluis.vault(session, "test").shred([shredded], reason="retention")
    assert _whose(kluis, "email", "weg@example.nl") is None
    assert _whose(kluis, "email", "ook-weg@example.nl") is None
    assert _whose(kluis, "email", "blijft@example.nl") == keep
    lookups, owned = _index(kluis)
    assert lookups == owned and {p for _, _, p in lookups} == {keep}
