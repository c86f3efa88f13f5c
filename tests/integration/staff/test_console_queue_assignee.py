"""Assigning requests and filtering the queue on the assignee (R-DSR-1, R-DSR-2, R-GOV-2; issue 19 §2): the DPO
gives a request to a staff member who handles requests; the queue shows only ids, filters by a staff id, ``me`` or
``none``, and refuses a filter or an assignee it does not know without writing anything."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select
from tests.integration.staff.conftest import CSRF, StaffMember
from tests.integration.staff.console_data import request

from kluis import schema
from kluis.audit.models import AuditEvent
from kluis.rights import queue
from kluis.rights.models import DataSubjectRequest
from kluis.schema import alembic_config
from kluis.wiring import Kluis

ROW = re.compile(r"<br><small>(REF-[^<]+)</small>")


def _assign(client: TestClient, request_id: uuid.UUID, assignee_id: str):
    path = f"/console/requests/{request_id}"
    token = CSRF.search(client.get(path).text)
    assert token, "the request page has no form"
    return client.post(path + "/assign", data={"csrf": token[1], "assignee_id": assignee_id})


def _listed(client: TestClient, **params: str) -> list[str]:
    page = client.get("/console/requests", params=params)
    assert page.status_code == 200, page.text
    return ROW.findall(page.text)


def _assigned(kluis: Kluis, request_id: uuid.UUID) -> uuid.UUID | None:
    with kluis.db.sessions() as session:
        return session.get(DataSubjectRequest, request_id).assigned_to


def _events(kluis: Kluis) -> int:
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.fixture
def team(add_member: Callable) -> tuple[StaffMember, StaffMember]:
    return add_member("dpo"), add_member("support")


def test_r_dsr_1_r_gov_2_issue_19_dpo_assigns_and_unassigns_a_request_audited_with_ids_only(
        client: TestClient, kluis: Kluis, team: tuple[StaffMember, StaffMember], sign_in: Callable) -> None:
    dpo, support = team
    made = request(kluis, "access", 3, "REF-access")
    sign_in(dpo)
    page = client.get(f"/console/requests/{made}")
    assert "Assign the request" in page.text and f"{support.email} (" in page.text  # the choice, for the DPO
    done = _assign(client, made, support.id)
    assert done.status_code == 200 and f"<code>{support.id}</code>" in done.text
    assert _assigned(kluis, made) == uuid.UUID(support.id)
    listing = client.get("/console/requests")
    assert f"<code>{support.id}</code>" in listing.text and support.email not in listing.text  # ids, never addresses
    assert _assign(client, made, "").status_code == 200
    assert _assigned(kluis, made) is None
    with kluis.db.sessions() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "request.assigned")
                                      .order_by(AuditEvent.seq)
                                      .order_by(AuditEvent.seq)))
    assert [e.details["assigned_to"] for e in events] == [support.id, ""]
    assert all(e.actor == f"staff:{dpo.id}" and str(made) in e.object_ids for e in events)
    assert not any("@" in str(e.details) for e in events)  # no address in the audit log
    dutch = client.get(f"/console/requests/{made}", headers={"accept-language": "nl"})
    assert "Het verzoek toewijzen" in dutch.text and "Toegewezen aan" in dutch.text


def test_r_dsr_1_r_gov_2_issue_19_an_assignee_without_the_role_is_refused_and_nothing_written(
        client: TestClient, kluis: Kluis, team: tuple[StaffMember, StaffMember], add_member: Callable,
        sign_in: Callable) -> None:
    dpo, _ = team
    marketer = add_member("marketing")
    made = request(kluis, "erasure", 3, "REF-erasure")
    sign_in(dpo)
    before = _events(kluis)
    for who in (marketer.id, str(uuid.uuid4())):
        refused = _assign(client, made, who)
        assert refused.status_code == 422
        assert "the assignee is an active staff member who may handle requests" in refused.text
    assert _assigned(kluis, made) is None and _events(kluis) == before
    path = f"/console/requests/{made}"
    dutch = client.post(path + "/assign", headers={"accept-language": "nl"},
                        data={"csrf": CSRF.search(client.get(path).text)[1], "assignee_id": marketer.id})
    assert dutch.status_code == 422 and "actieve medewerker die verzoeken mag behandelen" in dutch.text


def test_r_gov_2_issue_19_only_the_dpo_assigns_and_the_form_needs_its_csrf(
        client: TestClient, kluis: Kluis, team: tuple[StaffMember, StaffMember], sign_in: Callable) -> None:
    dpo, support = team
    made = request(kluis, "access", 3, "REF-access")
    sign_in(support)
    assert "Assign the request" not in client.get(f"/console/requests/{made}").text
    token = CSRF.search(client.get(f"/console/requests/{made}").text)[1]
    assert client.post(f"/console/requests/{made}/assign",
                       data={"csrf": token, "assignee_id": support.id}).status_code == 403
    client.cookies.clear()
    sign_in(dpo)
    forged = client.post(f"/console/requests/{made}/assign", data={"csrf": "forged", "assignee_id": support.id})
    assert forged.status_code in (400, 403)
    assert _assigned(kluis, made) is None


def test_r_dsr_2_issue_19_queue_filters_by_assignee_me_and_none(
        client: TestClient, kluis: Kluis, team: tuple[StaffMember, StaffMember], sign_in: Callable) -> None:
    dpo, support = team
    mine = request(kluis, "erasure", 20, "REF-dpo")
    theirs = request(kluis, "access", 10, "REF-support")
    request(kluis, "access", 3, "REF-nobody")
    sign_in(dpo)
    _assign(client, mine, dpo.id)
    _assign(client, theirs, support.id)
    assert _listed(client) == ["REF-dpo", "REF-support", "REF-nobody"]
    assert _listed(client, assignee="me") == ["REF-dpo"]
    assert _listed(client, assignee=support.id) == ["REF-support"]
    assert _listed(client, assignee="none") == ["REF-nobody"]
    assert _listed(client, assignee="none", type="erasure") == []
    assert _listed(client, assignee=str(uuid.uuid4())) == []
    page = client.get("/console/requests", params={"assignee": "me"})
    assert '<option value="me" selected>' in page.text  # the filter shown as chosen


def test_r_dsr_2_issue_19_the_next_page_link_keeps_the_assignee(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable) -> None:
    for n in range(queue.PAGE + 1):
        request(kluis, "access", 1, f"REF-{n:03d}")
    sign_in(add_member("support"))
    page = client.get("/console/requests", params={"assignee": "none"})
    link = re.search(r'href="/console/requests\?([^"]+)" rel="next"', page.text)
    assert link and "assignee=none" in link.group(1)
    assert len(_listed(client, **dict(p.split("=") for p in link.group(1).split("&amp;")))) == 1


@pytest.mark.parametrize("value", ["someone", "12345", "ME"])
def test_r_dsr_2_issue_19_bad_assignee_filter_is_a_422_naming_it_and_writes_nothing(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable, value: str) -> None:
    request(kluis, "access", 3, "REF-access")
    sign_in(add_member("support"))
    before = _events(kluis)
    page = client.get("/console/requests", params={"assignee": value})
    assert page.status_code == 422 and "The queue cannot be filtered that way." in page.text
    assert "a staff member&#39;s id, me or none" in page.text or "a staff member's id, me or none" in page.text
    dutch = client.get("/console/requests", params={"assignee": value}, headers={"accept-language": "nl"})
    assert dutch.status_code == 422 and "het id van een medewerker, me of none" in dutch.text
    assert _events(kluis) == before


@pytest.mark.plain_schema
def test_r_dsr_1_issue_19_migration_0032_goes_down_and_up_to_the_models(kluis: Kluis) -> None:
    """Issue 19 §2: migration 0032_request_assignee adds the indexed assignee exactly as the model declares it,
    and goes down again."""
    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.downgrade(config, "0031_person_sessions")
        assert "assigned_to" not in {c["name"] for c in inspect(conn).get_columns("data_subject_request")}
        command.upgrade(config, "head")
        assert "ix_data_subject_request_assigned_to" in {
            i["name"] for i in inspect(conn).get_indexes("data_subject_request")}
    assert schema.differences(kluis.db) == []
