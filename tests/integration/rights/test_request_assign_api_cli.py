"""Assigning a request from the staff API and the CLI (R-DSR-1, R-GOV-2; issue 19 §2): the same service call and
permission (requests.assign: the DPO) as the console. A key with the power requests_assign names the staff member
acting in Kluis-Staff; the CLI names them with --staff. Assign, reassign and unassign are each one audit event with
ids only; an account that may not handle requests, an unknown request, a key without the power or a staff member
without the permission are refused and nothing is written."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.integration.staff.console_data import request
from typer.testing import CliRunner

from kluis import wiring
from kluis.access.service import create_key
from kluis.audit.models import AuditEvent
from kluis.cli import app
from kluis.rights.models import DataSubjectRequest
from kluis.staff import service as staff_service
from kluis.wiring import Kluis

PASSWORD = "lang-genoeg-wachtwoord-42"
runner = CliRunner()


@pytest.fixture
def team(kluis: Kluis) -> dict[str, uuid.UUID]:
    ids = {}
    with kluis.db.transaction() as session:
        for role in ("dpo", "support", "marketing"):
            made = staff_service.add_staff(session, kluis.clock, kluis.keys, f"{role}@benvitaal.nl", role, PASSWORD)
            ids[role] = made.account.id
    return ids


def _key(kluis: Kluis, *powers: str) -> dict[str, str]:
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service="dpo-desk", purposes=["support"],
                              actor="test", powers=list(powers))
    return {"Authorization": f"Bearer {token}", "Kluis-Purpose": "support"}


def _assigned(kluis: Kluis, request_id: uuid.UUID) -> uuid.UUID | None:
    with kluis.db.sessions() as session:
        return session.get(DataSubjectRequest, request_id).assigned_to


def _events(kluis: Kluis) -> list[AuditEvent]:
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "request.assigned")
                                    .order_by(AuditEvent.seq)
                                    .order_by(AuditEvent.seq)))


def _count(kluis: Kluis) -> int:
    with kluis.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)))


def _put(client: TestClient, request_id: uuid.UUID | str, auth: dict[str, str], staff_id: uuid.UUID | None):
    return client.post(f"/api/v1/requests/{request_id}/assignee", headers=auth,
                       json={"staff_id": str(staff_id) if staff_id else None})


def test_r_dsr_1_issue_19_api_assigns_reassigns_and_unassigns_audited_with_ids_only(
        client: TestClient, kluis: Kluis, team: dict[str, uuid.UUID]) -> None:
    made = request(kluis, "access", 3, "REF-api")
    desk = _key(kluis, "requests_assign") | {"Kluis-Staff": str(team["dpo"])}
    for target in (team["support"], team["dpo"], None):
        done = _put(client, made, desk, target)
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["id"] == str(made) and body["assigned_to"] == (str(target) if target else None)
        assert body["reference"].startswith("DSR-") and _assigned(kluis, made) == target
    events = _events(kluis)
    assert [e.details["assigned_to"] for e in events] == [str(team["support"]), str(team["dpo"]), ""]
    assert all(e.actor == f"staff:{team['dpo']}" and e.details["via"].startswith("key:") and str(made) in e.object_ids
               for e in events)
    assert not any("@" in str(e.details) for e in events)  # no address in the audit log


def test_r_dsr_1_issue_19_api_refusals_are_problem_json_and_write_nothing(
        client: TestClient, kluis: Kluis, team: dict[str, uuid.UUID]) -> None:
    made = request(kluis, "erasure", 3, "REF-api")
    desk = _key(kluis, "requests_assign")
    cases = [
        (_put(client, made, desk | {"Kluis-Staff": str(team["dpo"])}, team["marketing"]), 422, "assignee_invalid"),
        (_put(client, made, desk | {"Kluis-Staff": str(team["dpo"])}, uuid.uuid4()), 422, "assignee_invalid"),
        (_put(client, uuid.uuid4(), desk | {"Kluis-Staff": str(team["dpo"])}, team["support"]), 404,
         "request_not_found"),
        (_put(client, made, _key(kluis, "employer_instructions") | {"Kluis-Staff": str(team["dpo"])},
              team["support"]), 403, "power_required"),
        (_put(client, made, desk | {"Kluis-Staff": str(team["support"])}, team["support"]), 403,
         "role_not_allowed"),
        (_put(client, made, desk, team["support"]), 403, "staff_unknown"),
        (_put(client, made, {"Authorization": "Bearer kluis_nonsense", "Kluis-Staff": str(team["dpo"])},
              team["support"]), 401, None),
    ]
    for answer, status, code in cases:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        if code:
            assert answer.json()["code"] == code
    assert _assigned(kluis, made) is None and _events(kluis) == []


def test_r_dsr_1_issue_19_the_assignee_endpoint_and_its_errors_are_in_the_openapi_document(
        client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/requests/{request_id}/assignee"]["post"]
    assert {"401", "403", "404", "422"} <= set(operation["responses"])
    assert any(p["name"] == "Kluis-Staff" for p in operation["parameters"])


@pytest.fixture
def cli_kluis(kluis: Kluis, team: dict[str, uuid.UUID]):
    wiring.use_for_cli(kluis)
    yield kluis
    wiring.use_for_cli(None)


def test_r_dsr_1_issue_19_cli_assigns_reassigns_unassigns_and_refuses(
        cli_kluis: Kluis, team: dict[str, uuid.UUID]) -> None:
    made = request(cli_kluis, "access", 3, "REF-cli")
    for target in (str(team["support"]), str(team["dpo"]), "none"):
        done = runner.invoke(app, ["requests", "assign", str(made), target, "--staff", "dpo@benvitaal.nl"])
        assert done.exit_code == 0, done.output
        assert _assigned(cli_kluis, made) == (None if target == "none" else uuid.UUID(target))
    assert [e.details["assigned_to"] for e in _events(cli_kluis)] == [str(team["support"]), str(team["dpo"]), ""]
    assert all(e.actor == f"staff:{team['dpo']}" for e in _events(cli_kluis))
    before = _count(cli_kluis)
    for args, code in ((["assign", str(made), str(team["marketing"]), "--staff", "dpo@benvitaal.nl"],
                        "assignee_invalid"),
                       (["assign", str(uuid.uuid4()), str(team["support"]), "--staff", "dpo@benvitaal.nl"],
                        "request_not_found"),
                       (["assign", str(made), str(team["support"]), "--staff", "support@benvitaal.nl"],
                        "role_not_allowed"),
                       (["assign", "REF-cli", str(team["support"]), "--staff", "dpo@benvitaal.nl"],
                        "request_id_invalid")):
        refused = runner.invoke(app, ["rights", *args])
        assert refused.exit_code == 1 and code in refused.output, refused.output
    assert _assigned(cli_kluis, made) is None and _count(cli_kluis) == before
