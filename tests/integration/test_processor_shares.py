"""R-SHR-2: personal data goes to a processor only under a signed agreement in force on the Amsterdam day of the
share, and only with a lawful transfer; a refused share writes nothing but its audit event (ids only)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.helpers import api_key

from kluis.audit.models import AuditEvent
from kluis.disclosures.models import Disclosure
from kluis.policy.schemas import Agreement, Policy, Transfer
from kluis.vault.schemas import IdentifierIn, PersonIn

SHARE = {"party": "processor:email_delivery", "categories": ["basic"], "purpose": "marketing_email"}


def _person(kluis, email="verwerker@example.nl"):
    with kluis.db.transaction() as session:
        pid = kluis.vault(session, "test").create_person(PersonIn(subject_types=["employee"], identifiers=[
            IdentifierIn(kind="email", value=email)])).id
        kluis.consents(session, "test").give(pid, "marketing_email", method="form", notice_text="Ja", lang="nl")
    return pid


def _with_processor(policy: Policy, processor_id: str, **update: Any) -> Policy:
    return policy.model_copy(update={"processors": [p.model_copy(update=update) if p.id == processor_id else p
                                                    for p in policy.processors]})


def _state(kluis):
    with kluis.db.sessions() as session:
        shares = session.scalar(select(func.count()).select_from(Disclosure))
        refusals = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "disclosure.refused")
                                        .order_by(AuditEvent.seq)))
    return shares, refusals


def test_r_shr_2_an_agreement_covers_its_last_day_in_amsterdam_and_not_a_minute_after(client, kluis, clock):
    pid = _person(kluis)
    auth = api_key(kluis, ["marketing_email"])
    kluis.policy = _with_processor(kluis.policy, "email_delivery",
                                   agreement=Agreement(reference="VWO-T-1", signed=date(2023, 5, 2),
                                                       ends=date(2026, 11, 25)))
    clock.set(datetime(2026, 11, 25, 22, 59, tzinfo=UTC))  # 23:59 in Amsterdam: still the last day
    assert client.post(f"/api/v1/people/{pid}/disclosures", json=SHARE, headers=auth).status_code == 201
    clock.set(datetime(2026, 11, 25, 23, 0, tzinfo=UTC))  # midnight in Amsterdam: the agreement has ended
    refused = client.post(f"/api/v1/people/{pid}/disclosures", json=SHARE, headers=auth)
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert body["code"] == "share_refused"
    assert [(p["path"], p["code"]) for p in body["errors"]] == [("party", "agreement_expired")]
    assert "VWO-T-1" in body["errors"][0]["message"] and "2026-11-25" in body["errors"][0]["message"]
    shares, [event] = _state(kluis)
    assert shares == 1
    assert event.object_ids == [str(pid)]
    assert event.details == {"refused": 1, "people": 1, "parties": ["processor:email_delivery"],
                             "reasons": ["agreement_expired"]}
    assert "verwerker@" not in str(event.details)


def test_r_shr_2_a_share_dated_back_into_the_agreement_is_allowed(client, kluis, clock):
    """The moment of sharing counts, not the moment it is logged."""
    pid = _person(kluis)
    auth = api_key(kluis, ["marketing_email"])
    kluis.policy = _with_processor(kluis.policy, "email_delivery",
                                   agreement=Agreement(reference="VWO-T-2", signed=date(2023, 5, 2),
                                                       ends=date(2026, 11, 20)))
    made = client.post(f"/api/v1/people/{pid}/disclosures", json=SHARE | {"at": "2026-11-20T20:00:00+01:00"},
                       headers=auth)
    assert made.status_code == 201, made.text
    late = client.post(f"/api/v1/people/{pid}/disclosures", json=SHARE | {"at": "2026-11-21T00:00:00+01:00"},
                       headers=auth)
    assert late.status_code == 403 and late.json()["errors"][0]["code"] == "agreement_expired"


@pytest.mark.parametrize(("update", "code"), [
    ({"agreement": None}, "agreement_missing"),
    ({"agreement": Agreement(reference="VWO-T-3")}, "agreement_unsigned"),
    ({"agreement": Agreement(reference="VWO-T-4", signed=date(2026, 12, 1))}, "agreement_not_in_force"),
    ({"country": "US", "transfer": Transfer.EEA}, "transfer_without_safeguard"),
    ({"country": "IN", "transfer": Transfer.ADEQUACY}, "transfer_without_safeguard"),
    ({"country": "US", "transfer": Transfer.SCC, "scc_version": None}, "scc_without_version"),
])
def test_r_shr_2_a_share_the_register_does_not_allow_is_refused_and_audited(client, kluis, update, code):
    """The policy check refuses such a register; a register that slipped through (an older stored version, a
    policy set in code) is refused again at the moment of sharing."""
    pid = _person(kluis)
    auth = api_key(kluis, ["marketing_email"])
    kluis.policy = _with_processor(kluis.policy, "email_delivery", **update)
    refused = client.post(f"/api/v1/people/{pid}/disclosures", json=SHARE, headers=auth)
    assert refused.status_code == 403, refused.text
    assert refused.json()["errors"][0]["code"] == code
    shares, [event] = _state(kluis)
    assert shares == 0 and event.details["reasons"] == [code]


def test_r_shr_2_a_sub_processor_outside_the_eea_without_a_mechanism_stops_the_share(client, kluis):
    pid = _person(kluis)
    auth = api_key(kluis, ["marketing_email"])
    processor = next(p for p in kluis.policy.processors if p.id == "email_delivery")
    subs = [s.model_copy(update={"scc_version": None}) for s in processor.sub_processors]
    kluis.policy = _with_processor(kluis.policy, "email_delivery", sub_processors=subs)
    refused = client.post(f"/api/v1/people/{pid}/disclosures", json=SHARE, headers=auth)
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "sub_processor_scc_without_version"


def test_r_shr_2_one_refused_share_refuses_the_batch(client, kluis):
    first, second = _person(kluis, "een@example.nl"), _person(kluis, "twee@example.nl")
    auth = api_key(kluis, ["marketing_email"])
    kluis.policy = _with_processor(kluis.policy, "email_delivery", agreement=Agreement(reference="VWO-T-5"))
    items = [SHARE | {"person_id": str(first)}, SHARE | {"person_id": str(second)},
             {"party": "recipient:group_companies", "categories": ["basic"], "purpose": "marketing_email",
              "person_id": str(first)}]
    refused = client.post("/api/v1/disclosures", json={"items": items}, headers=auth)
    assert refused.status_code == 403
    assert [p["path"] for p in refused.json()["errors"]] == ["items[0].party", "items[1].party"]
    shares, [event] = _state(kluis)
    assert shares == 0
    assert sorted(event.object_ids) == sorted([str(first), str(second)]) and event.details["refused"] == 2
