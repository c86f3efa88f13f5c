"""Access and portability packages as jobs (R-DSR-3, R-DSR-4): built by the worker, stored encrypted,
downloaded after a fresh e-mail code, audited, expired and deleted. SQLite and PostgreSQL."""

from __future__ import annotations

import gc
import io
import json
import re
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.forms import form_token
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all

from kluis.audit.models import AuditEvent
from kluis.rights.models import AccessPackage, AccessPackageChunk, DataSubjectRequest
from kluis.rights.packages.archive import write_access_package
from kluis.rights.packages.service import Packages
from kluis.rights.packages.store import CHUNK, open_package_key, read_sealed
from kluis.rights.packages.tasks import PackagePoller
from kluis.rights.packages.views import GRANT_COOKIE
from kluis.rights.rules import PackageState
from kluis.rights.service import Rights
from kluis.vault.crypto import Unreadable
from kluis.vault.schemas import PersonIn, RecordIn

SECRET_STREET = "Vrijthof 17 achterhuis"


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def verified_request(kluis, kind="access", email="vrager@example.nl"):
    """A person with one record holding a known value, and their verified request (from the account page)."""
    person_id, _ = new_person(kluis, email=email)
    with kluis.db.transaction() as session:
        kluis.vault(session, "test").add_records(person_id, [RecordIn(
            category="basic", purposes=["accounts"], legal_basis="contract", source="direct",
            content={"name": "Femke Jansen", "address": {"street": SECRET_STREET}})])
        request_id = Rights(session, kluis, "test").receive_from_account(person_id, kind, "en").request.id
    return person_id, request_id


def package_of(kluis, request_id):
    with kluis.db.sessions() as session:
        return session.scalars(select(AccessPackage).where(AccessPackage.request_id == request_id)).one()


def link_in(catcher):
    [mail] = [m for m in catcher.messages if "Your data is ready" in m.subject]
    return re.search(r"https://kluis\.benvitaal\.test(/privacy-centre/packages/[^\s?]+)", mail.text).group(1)


def code_in(catcher):
    mail = [m for m in catcher.messages if "confirmation code" in m.subject][-1]
    assert "download your personal data" in mail.text
    return re.search(r"^\s+(\d{6})\s*$", mail.text, re.M).group(1)


def sign_in(client, kluis, catcher, path):
    assert client.post(f"{path}/code?lang=en", data={"csrf": form_token(client)}).status_code == 200
    send_all(kluis)
    done = client.post(f"{path}/sign-in?lang=en", data={"code": code_in(catcher), "csrf": form_token(client)},
                       follow_redirects=False)
    assert done.status_code == 303, done.text


def audited(kluis, action):
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_r_dsr_3_verified_access_is_built_by_the_worker_encrypted_and_the_request_done(kluis, catcher):
    person_id, request_id = verified_request(kluis)
    assert package_of(kluis, request_id).state == PackageState.QUEUED
    send_all(kluis)
    package = package_of(kluis, request_id)
    assert package.state == PackageState.READY and package.size > 0 and package.attempts == 1
    assert package.expires_at - package.ready_at == timedelta(days=7)
    with kluis.db.sessions() as session:
        assert session.get(DataSubjectRequest, request_id).state == "done"
        chunks = [c.data for c in session.scalars(select(AccessPackageChunk).order_by(AccessPackageChunk.seq))]
    stored = b"".join(chunks)
    assert chunks and b"PK\x03\x04" not in stored and SECRET_STREET.encode() not in stored
    if kluis.db.dialect == "sqlite":  # the database file itself holds no plaintext of the package
        path = Path(kluis.db.url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
        assert len(raw) > len(stored) and SECRET_STREET.encode() not in raw and b"Femke" not in raw
    assert link_in(catcher).startswith("/privacy-centre/packages/")
    [ready] = audited(kluis, "package.ready")
    assert str(person_id) in ready.object_ids and SECRET_STREET not in json.dumps(ready.details)


def test_r_dsr_3_download_after_code_login_is_the_zip_and_is_audited(client, kluis, catcher):
    person_id, request_id = verified_request(kluis)
    send_all(kluis)
    path = link_in(catcher)
    page = client.get(f"{path}?lang=en")
    assert page.status_code == 200 and "Send me a code" in page.text
    assert client.get(f"{path}/download").status_code == 404  # no code yet: nothing leaves
    wrong = client.post(f"{path}/sign-in?lang=en", data={"code": "000000", "csrf": form_token(client)})
    assert wrong.status_code == 422 and "is not right" in wrong.text
    sign_in(client, kluis, catcher, path)
    assert "Download your data (ZIP)" in client.get(f"{path}?lang=en").text
    got = client.get(f"{path}/download")
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert "attachment" in got.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(got.content)) as zf:
        [record] = json.loads(zf.read("data/basic.json"))
        assert record["content"]["address"]["street"] == SECRET_STREET and "report.pdf" in zf.namelist()
    assert client.get(f"{path}/download").status_code == 200
    downloads = audited(kluis, "package.downloaded")
    assert [e.details["downloads"] for e in downloads] == [1, 2]
    assert all(str(person_id) in e.object_ids and str(request_id) in e.object_ids for e in downloads)
    assert package_of(kluis, request_id).downloads == 2


def test_r_dsr_4_portability_package_holds_only_provided_data(client, kluis, catcher):
    person_id, request_id = verified_request(kluis, kind="portability")
    with kluis.db.transaction() as session:
        kluis.vault(session, "test").add_records(person_id, [RecordIn(
            category="interests", purposes=["lead_management"], legal_basis="legitimate_interest",
            source="aggregator", content={"interest_topics": "zeilen"})])
    send_all(kluis)
    path = link_in(catcher)
    sign_in(client, kluis, catcher, path)
    with zipfile.ZipFile(io.BytesIO(client.get(f"{path}/download").content)) as zf:
        names = zf.namelist()
        assert "data/basic.json" in names and "data/interests.json" not in names and "report.pdf" not in names
        assert json.loads(zf.read("manifest.json"))["kind"] == "portability"


def test_r_dsr_3_tampered_foreign_and_unknown_links_are_refused_and_reveal_nothing(client, kluis, catcher):
    _, first = verified_request(kluis, email="eerste@example.nl")
    _, second = verified_request(kluis, email="tweede@example.nl")
    send_all(kluis)
    links = {m.to[0]: re.search(r"(/privacy-centre/packages/[^\s?]+)", m.text).group(1)
             for m in catcher.messages if "Your data is ready" in m.subject}
    mine, theirs = links["eerste@example.nl"], links["tweede@example.nl"]
    token = theirs.rsplit("/", 1)[1]
    tampered = f"/privacy-centre/packages/{token[:6]}{'A' if token[6] != 'A' else 'B'}{token[7:]}"
    for path in (tampered, "/privacy-centre/packages/not-a-token"):
        assert client.get(path).status_code == 404
        assert client.post(f"{path}/code", data={"csrf": form_token(client)}).status_code == 404
        assert client.get(f"{path}/download").status_code == 404
    sign_in(client, kluis, catcher, mine)  # signed in for my own package ...
    assert client.get(f"{mine}/download").status_code == 200
    assert client.get(f"{theirs}/download").status_code == 404  # ... opens nobody else's
    # asking a code on their link mails it to their address on file, not to whoever holds the link
    assert client.post(f"{theirs}/code", data={"csrf": form_token(client)}).status_code == 200
    send_all(kluis)
    assert [m.to for m in catcher.messages if "confirmation code" in m.subject][-1] == ("tweede@example.nl",)
    # and a fresh code of mine, tried on their link, opens nothing (each code is bound to one package)
    assert client.post(f"{mine}/code", data={"csrf": form_token(client)}).status_code == 200
    send_all(kluis)
    tried = client.post(f"{theirs}/sign-in", data={"code": code_in(catcher), "csrf": form_token(client)})
    assert tried.status_code == 422
    assert client.get(f"{theirs}/download").status_code == 404
    assert [e.object_ids[1] for e in audited(kluis, "package.downloaded")] == [str(first)]


def _answer(response):
    headers = {k: v for k, v in response.headers.items() if k not in ("date", "content-length")}
    return response.status_code, headers, response.content


def test_r_dsr_3_a_real_download_link_without_its_owner_answers_as_one_that_never_existed(client, kluis, catcher,
                                                                                         clock):
    """R-DSR-3: opened with no session, with the owner's session of another package, or after the code's grant
    lapsed, a real download link gets the very answer of a link that never existed: 404, same body, same
    headers. Nothing is downloaded or audited."""
    verified_request(kluis, email="eerste@example.nl")
    verified_request(kluis, email="tweede@example.nl")
    send_all(kluis)
    links = {m.to[0]: re.search(r"(/privacy-centre/packages/[^\s?]+)", m.text).group(1)
             for m in catcher.messages if "Your data is ready" in m.subject}
    mine, theirs = links["eerste@example.nl"], links["tweede@example.nl"]
    never = f"/privacy-centre/packages/{theirs.rsplit('/', 1)[1][:-4]}AAAA"
    for lang in ("nl", "en"):
        unknown = _answer(client.get(f"{never}/download?lang={lang}"))
        assert unknown[0] == 404
        assert _answer(client.get(f"{theirs}/download?lang={lang}")) == unknown  # no session
        sign_in(client, kluis, catcher, mine)
        assert _answer(client.get(f"{theirs}/download?lang={lang}")) == unknown  # another person's session
        client.cookies.set(GRANT_COOKIE, client.cookies.get(GRANT_COOKIE, path=mine), path=theirs)
        assert _answer(client.get(f"{theirs}/download?lang={lang}")) == unknown  # their grant, sent along
        clock.advance(timedelta(minutes=16))
        assert _answer(client.get(f"{mine}/download?lang={lang}")) == unknown  # the grant has lapsed
        client.cookies.clear()
    assert audited(kluis, "package.downloaded") == []


def test_r_dsr_3_expired_link_is_410_and_the_worker_deletes_the_file(client, kluis, catcher, clock):
    _, request_id = verified_request(kluis)
    send_all(kluis)
    path = link_in(catcher)
    sign_in(client, kluis, catcher, path)
    clock.advance(timedelta(days=7, seconds=1))
    assert client.get(f"{path}/download").status_code == 404  # the code's grant has lapsed long before
    expired = client.get(f"{path}?lang=en")
    assert expired.status_code == 410 and "has expired" in expired.text
    assert PackagePoller().poll(kluis) == 1
    package = package_of(kluis, request_id)
    assert package.state == PackageState.EXPIRED and package.deleted_at == clock.now() and package.wrapped_key is None
    with kluis.db.sessions() as session:
        assert session.scalars(select(AccessPackageChunk)).first() is None
    assert client.get(f"{path}/download").status_code == 404
    assert client.post(f"{path}/code", data={"csrf": form_token(client)}).status_code == 410
    assert len(audited(kluis, "package.deleted")) == 1


def test_r_dsr_3_link_lifetime_is_configurable(kluis, catcher, clock):
    kluis.settings = kluis.settings.model_copy(update={"package_days": 2})
    _, request_id = verified_request(kluis)
    send_all(kluis)
    package = package_of(kluis, request_id)
    assert package.expires_at == package.ready_at + timedelta(days=2)


def test_r_dsr_3_worker_retries_a_failed_build_with_backoff_then_gives_up(kluis, catcher, clock):
    _, request_id = verified_request(kluis)
    failures = []

    def failing(*args, **kwargs):
        failures.append(1)
        raise OSError("disk on fire")

    poller = PackagePoller(builder=failing)
    assert poller.poll(kluis) == 1
    package = package_of(kluis, request_id)
    assert (package.state, package.attempts, package.last_error) == (PackageState.QUEUED, 1, "build_OSError")
    assert package.next_attempt_at == clock.now() + timedelta(minutes=1)
    with kluis.db.sessions() as session:
        assert session.scalars(select(AccessPackageChunk)).first() is None  # nothing half-written stays
    assert poller.poll(kluis) == 0  # not due yet
    clock.advance(timedelta(minutes=1))
    assert poller.poll(kluis) == 1 and package_of(kluis, request_id).next_attempt_at == clock.now() + timedelta(
        minutes=2)
    clock.advance(timedelta(minutes=2))
    assert PackagePoller().poll(kluis) == 1  # the builder works again
    package = package_of(kluis, request_id)
    assert (package.state, package.attempts, package.last_error) == (PackageState.READY, 3, None)
    assert len(failures) == 2 and len(audited(kluis, "package.build_failed")) == 2

    _, other = verified_request(kluis, email="ander@example.nl")
    for _ in range(kluis.settings.package_max_attempts):
        poller.poll(kluis)
        clock.advance(timedelta(hours=1))
    assert package_of(kluis, other).state == PackageState.FAILED
    with kluis.db.sessions() as session:
        assert session.get(DataSubjectRequest, other).state == "verified"  # staff see it and can queue again


def test_r_dsr_3_a_build_abandoned_by_a_dead_worker_is_taken_over_after_its_lease(kluis, catcher, clock):
    _, request_id = verified_request(kluis)
    with kluis.db.transaction() as session:
        assert len(Packages(session, kluis, "worker").claim("dead-worker")) == 1
    assert PackagePoller().poll(kluis) == 0  # still leased to the dead worker
    clock.advance(timedelta(seconds=kluis.settings.package_lease_seconds))
    assert PackagePoller().poll(kluis) == 1
    assert package_of(kluis, request_id).state == PackageState.READY
    # a build abandoned on its last attempt is not tried again: it fails, for staff to see
    kluis.settings = kluis.settings.model_copy(update={"package_max_attempts": 1})
    _, other = verified_request(kluis, email="ander@example.nl")
    with kluis.db.transaction() as session:
        assert len(Packages(session, kluis, "worker").claim("dead-worker")) == 1
    clock.advance(timedelta(seconds=kluis.settings.package_lease_seconds))
    assert PackagePoller().poll(kluis) == 0
    abandoned = package_of(kluis, other)
    assert (abandoned.state, abandoned.last_error, abandoned.attempts) == (PackageState.FAILED, "abandoned", 1)


def test_r_dsr_3_staff_queue_a_package_once_at_a_time(kluis, catcher):
    _, request_id = verified_request(kluis)
    with kluis.db.transaction() as session, pytest.raises(Exception) as refused:
        Rights(session, kluis, "staff:x").build_package(request_id)
    assert getattr(refused.value, "code", "") == "package_exists"


def _many(kluis, clock, count):
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        person = vault.create_person(PersonIn(subject_types=["employee"]))
        for start in range(0, count, 5000):
            vault.add_records(person.id, [
                RecordIn(category="web_traffic", purposes=["security"], legal_basis="legitimate_interest",
                         source="cookies", content={"ip_address": f"10.{n // 65000}.{n // 250 % 250}.{n % 250}",
                                                    "device": {"os": "Android", "n": n}})
                for n in range(start, min(count, start + 5000))])
        request_id = Rights(session, kluis, "test").receive_from_account(person.id, "access", "en").request.id
    clock.advance(timedelta(seconds=1))  # the worker takes jobs in the order they became due
    return request_id


def _build_peak(kluis) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        assert PackagePoller(builder=write_access_package).poll(kluis) == 1
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# Ten times the small sample on both databases. 100,000 records on SQLite took a minute on a quiet machine and ten
# under load, most of it tracing allocations, for the same verdict: a peak that grows with the records grows tenfold
# here as it would fiftyfold there.
LARGE = 20_000


def test_r_dsr_3_job_memory_stays_flat_for_a_person_with_ten_times_the_records(kluis, catcher, clock):
    small, large, warm = _many(kluis, clock, 2_000), _many(kluis, clock, LARGE), _many(kluis, clock, 2_000)
    _build_peak(kluis)  # builds ``small``: warms compiled SQL, templates and fonts
    large_peak = _build_peak(kluis)
    small_peak = _build_peak(kluis)  # ``warm``, measured after the large one as a second small sample
    sizes = {r: package_of(kluis, r).size for r in (small, large, warm)}
    assert package_of(kluis, large).state == PackageState.READY and sizes[large] > LARGE // 5_000 * sizes[small]
    with kluis.db.sessions() as session:
        chunks = session.scalars(select(AccessPackageChunk.seq).where(
            AccessPackageChunk.package_id == package_of(kluis, large).id)).all()
    assert len(chunks) > 10 and len(chunks) == -(-sizes[large] // CHUNK)
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)


def _read(kluis, package):
    with kluis.db.sessions() as session:
        dek = kluis.keystore.data_keys(session, [package.person_id])[package.person_id]
        prefix, key = open_package_key(dek, package.id, package.wrapped_key)
        return b"".join(read_sealed(session, package.person_id, package.id, key, prefix))


def test_r_dsr_3_an_altered_or_cut_short_package_does_not_decrypt(kluis, catcher):
    _, request_id = verified_request(kluis)
    send_all(kluis)
    package = package_of(kluis, request_id)
    assert zipfile.ZipFile(io.BytesIO(_read(kluis, package))).testzip() is None
    with kluis.db.transaction() as session:
        first = session.get(AccessPackageChunk, (package.person_id, package.id, 0))
        original = first.data
        first.data = original[:-1] + bytes([original[-1] ^ 1])
    with pytest.raises(Unreadable):
        _read(kluis, package)
    with kluis.db.transaction() as session:
        session.get(AccessPackageChunk, (package.person_id, package.id, 0)).data = original
        last = session.scalars(select(AccessPackageChunk).where(AccessPackageChunk.package_id == package.id)
                               .order_by(AccessPackageChunk.seq.desc())).first()
        session.delete(last)
    with pytest.raises(Unreadable):
        _read(kluis, package)
