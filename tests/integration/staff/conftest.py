"""Fixtures for the staff console: a Kluis whose schema exists, staff members with known secrets."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx import Response

from kluis.kit.clock import SettableClock
from kluis.staff import service
from kluis.wiring import Kluis

PASSWORD = "Stevige-Wachtzin-2026"
CSRF = re.compile(r'name="csrf" value="([^"]*)"')


@dataclass
class StaffMember:
    id: str
    email: str
    role: str
    password: str
    secret: str

    def code(self, clock: SettableClock, offset: int = 0) -> str:
        return pyotp.TOTP(self.secret).at(clock.now(), counter_offset=offset)


@pytest.fixture
def add_member(kluis: Kluis) -> Callable[..., StaffMember]:
    def add(role: str, email: str | None = None) -> StaffMember:
        email = email or f"{role}.medewerker@benvitaal.nl"
        with kluis.db.transaction() as session:
            enrolment = service.add_staff(session, kluis.clock, kluis.keys, email, role, PASSWORD)
        return StaffMember(str(enrolment.account.id), email, role, PASSWORD, enrolment.totp_secret)

    return add


def _csrf_of(page: Response) -> str:
    found = CSRF.search(page.text)
    assert found, "the page has no CSRF field"
    return found.group(1)


@pytest.fixture
def csrf_of() -> Callable[[Response], str]:
    """The CSRF token in a page's form."""
    return _csrf_of


@pytest.fixture
def try_login(client: TestClient) -> Callable[[str, str, str], Response]:
    """Fill in the login form the way a browser does: fetch it (CSRF cookie and field), then post."""

    def run(email: str, password: str, code: str) -> Response:
        page = client.get("/console/login")
        return client.post("/console/login", data={"email": email, "password": password, "code": code,
                                                   "csrf": _csrf_of(page)}, follow_redirects=False)

    return run


@pytest.fixture
def sign_in(try_login: Callable[[str, str, str], Response], clock: SettableClock
            ) -> Callable[[StaffMember], Response]:
    def run(member: StaffMember) -> Response:
        response = try_login(member.email, member.password, member.code(clock))
        assert response.status_code == 303, response.text
        return response

    return run
