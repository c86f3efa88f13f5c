"""Kluis on tables hash-partitioned by person, as a distributed PostgreSQL would spread them (issue 20 item 3,
R-VLT-1, R-VLT-2, R-VLT-5): people and records written, a person found by e-mail, records read through the gate
(the hot path), and an erasure that leaves the address unconfirmable."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from tests.helpers import api_key, headers
from tests.partitioning import PARTITIONS

from kluis.app import create_app
from kluis.erasure import service as erasure
from kluis.erasure.rules import Reason
from kluis.vault import fastpath
from kluis.vault.models import IdentifierLookup, Record

PEOPLE = 8


@pytest.mark.postgres
def test_issue_20_r_vlt_2_vault_operations_run_on_tables_partitioned_by_person(partitioned_kluis, monkeypatch):
    kluis = partitioned_kluis
    answered = []
    real = fastpath.answer
    monkeypatch.setattr(fastpath, "answer", lambda *a, **kw: answered.append(real(*a, **kw)) or answered[-1])
    auth = api_key(kluis, ["accounts"])
    with TestClient(create_app(kluis)) as client:
        people = []
        for n in range(PEOPLE):
            made = client.post(
                "/api/v1/people",
                headers=headers(auth, "accounts"),
                json={
                    "subject_types": ["employee"],
                    "identifiers": [{"kind": "email", "value": f"deel{n}@example.nl"}],
                },
            )
            assert made.status_code == 201, made.text
            people.append(made.json()["id"])
            assert (
                client.post(
                    f"/api/v1/people/{people[-1]}/relations",
                    json={"kind": "account"},
                    headers=headers(auth, "accounts"),
                ).status_code
                == 201
            )
        batch = [
            {
                "person_id": pid,
                "category": "basic",
                "purposes": ["accounts"],
                "legal_basis": "contract",
                "source": "direct",
                "content": {"name": f"Klant {n}"},
            }
            for n, pid in enumerate(people)
        ]
        assert (
            client.post("/api/v1/records/batch", json={"items": batch}, headers=headers(auth, "accounts")).status_code
            == 201
        )
        with kluis.db.transaction() as session:
            kluis.consents(session, "test").give(
                people[0], "marketing_email", method="form", notice_text="Ja, stuur mij de nieuwsbrief", lang="nl"
            )

        found = client.post(
            "/api/v1/people/lookup",
            headers=headers(auth, "accounts"),
            json={"identifier": {"kind": "email", "value": "DEEL3@example.nl"}},
        )
        assert found.status_code == 200 and found.json()["id"] == people[3]
        read = client.get(f"/api/v1/people/{people[3]}/records", headers=headers(auth, "accounts"))
        assert read.status_code == 200 and [r["content"] for r in read.json()["records"]] == [{"name": "Klant 3"}]
        assert answered and answered[0] is not None, "the gate's hot path answered the read"

        with kluis.db.transaction() as session:
            job_id = erasure.queue(session, kluis, people[3], Reason.STAFF, "test").id
        erasure.Runner(kluis, "test").run(job_id)
        gone = client.post(
            "/api/v1/people/lookup",
            headers=headers(auth, "accounts"),
            json={"identifier": {"kind": "email", "value": "deel3@example.nl"}},
        )
        assert gone.status_code == 404
        assert client.get(f"/api/v1/people/{people[3]}/records", headers=headers(auth, "accounts")).status_code == 404

    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(IdentifierLookup)) == PEOPLE - 1
        assert session.scalar(select(func.count()).select_from(Record)) == PEOPLE - 1
        # The rows sit in the partitions: PostgreSQL spread them over more than one.
        spread = session.execute(text("SELECT count(DISTINCT tableoid) FROM record")).scalar_one()
        parts = session.execute(text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'record'::regclass"))
        assert parts.scalar_one() == PARTITIONS and spread > 1
