"""Shared by the complaint tests (R-GOV-2): staff signed in to the console, and a look into the stored rows."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
from sqlalchemy import func, select
from sqlalchemy import text as sql

from kluis.complaints.models import Complaint, ComplaintMessage
from kluis.staff import service as staff_service
from kluis.vault.models import PersonKey

PASSWORD = "Stevige-Wachtzin-2026"
CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def add_staff(kluis, clock, role, email=None):
    """A new staff member: (account id, e-mail, TOTP secret)."""
    email = email or f"{role}@benvitaal.nl"
    with kluis.db.transaction() as session:
        enrolment = staff_service.add_staff(session, clock, kluis.keys, email, role, PASSWORD)
        account_id = staff_service.account_by_email(session, kluis.keys, email).id
    return account_id, email, enrolment.totp_secret


def log_in(client, clock, email, secret):
    """A fresh console session; the clock moves one code step on, as a code is never accepted twice."""
    clock.advance(timedelta(seconds=31))
    client.cookies.clear()
    page = client.get("/console/login")
    done = client.post("/console/login", data={"email": email, "password": PASSWORD, "csrf": CSRF.search(page.text)[1],
                                               "code": pyotp.TOTP(secret).at(clock.now())}, follow_redirects=False)
    assert done.status_code == 303, done.text


def sign_in(client, kluis, clock, role, email=None):
    """A new staff member of ``role``, signed in; returns their account id."""
    account_id, email, secret = add_staff(kluis, clock, role, email)
    log_in(client, clock, email, secret)
    return account_id


def csrf(client, path):
    return CSRF.search(client.get(path).text)[1]


def key_count(kluis) -> int:
    """Data keys in the key store (people's and complaints' own)."""
    with kluis.db.key_sessions() as session:
        return int(session.scalar(select(func.count()).select_from(PersonKey)))


def stored(kluis):
    """(complaints, sealed messages) as the database holds them."""
    with kluis.db.sessions() as session:
        return (list(session.scalars(select(Complaint))), list(session.scalars(select(ComplaintMessage))))


TABLES = ("complaint", "complaint_message", "complaint_code", "outbox", "audit_event")


def nothing_holds(kluis, text: str) -> bool:
    """No row of the complaint tables, the outbox or the audit log holds ``text`` in the clear."""
    with kluis.db.sessions() as session:
        return all(text not in repr(row) for table in TABLES
                   for row in session.execute(sql(f"SELECT * FROM {table}")).all())
