"""R-POL-3: versions of the policy are kept with their content, each registration audited; a change the file
brings at start-up that must be announced is refused (R-GOV-4). On a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit.models import AuditEvent
from kluis.db import Base, make_engine
from kluis.kit.clock import SettableClock
from kluis.kit.errors import Conflict
from kluis.policy.loader import load_policy, stored_policy
from kluis.policy.models import PolicyVersion
from kluis.policy.schemas import Policy, Term
from kluis.policy.service import current_version, list_versions, register_version

SHIPPED = Path(__file__).resolve().parents[3] / "policy" / "benvitaal.yaml"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SHIPPED)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'kluis.db'}")
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime(2025, 7, 1, 9, 30, tzinfo=UTC))


def changed(policy: Policy, months: int = 5) -> Policy:
    """The same policy with web-traffic data kept one month shorter (not material), or ``months`` long."""
    rules = [r.model_copy(update={"term": Term(months=months)}) if r.id == "web_traffic" else r
             for r in policy.retention]
    return policy.model_copy(update={"retention": rules})


def test_r_pol_3_same_policy_registered_twice_is_one_version(session: Session, clock: SettableClock,
                                                             policy: Policy) -> None:
    first = register_version(session, clock, policy, source=str(SHIPPED))
    session.commit()
    second = register_version(session, clock, policy, source="elsewhere/benvitaal.yaml")
    session.commit()
    assert second.seq == first.seq == 1
    assert [v.seq for v in list_versions(session)] == [1]
    assert first.source == "benvitaal.yaml"
    assert first.content_hash == policy.content_hash


def test_r_pol_3_changed_policy_is_the_next_version_and_audited(session: Session, clock: SettableClock,
                                                                 policy: Policy) -> None:
    register_version(session, clock, policy, source="benvitaal.yaml")
    session.commit()
    edited = changed(policy)
    assert edited.content_hash != policy.content_hash
    version = register_version(session, clock, edited, source="benvitaal.yaml", actor="staff:dpo")
    session.commit()
    assert version.seq == 2
    assert current_version(session) is not None and current_version(session).seq == 2  # type: ignore[union-attr]
    assert version.label == f"2 (sha256:{edited.content_hash[:8]}…)"
    events = session.execute(select(AuditEvent).where(AuditEvent.action == "policy.version_added")
                             .order_by(AuditEvent.seq)).scalars().all()
    assert [(e.object_type, e.object_ids) for e in events] == [("policy_version", ["1"]),
                                                                ("policy_version", ["2"])]
    assert events[1].actor == "staff:dpo"
    assert events[1].details == {"content_hash": edited.content_hash,
                                 "effective_from": version.effective_from.isoformat()}


def test_r_pol_3_effective_from_never_before_registration(session: Session, clock: SettableClock,
                                                          policy: Policy) -> None:
    # The shipped policy states 1 June 2025; registered on 1 July it takes effect on registration.
    version = register_version(session, clock, policy, source="benvitaal.yaml")
    assert version.effective_from == clock.now() == version.loaded_at


def test_r_pol_3_stated_date_still_to_come(session: Session, clock: SettableClock, policy: Policy) -> None:
    clock.set(datetime(2025, 5, 1, tzinfo=UTC))
    version = register_version(session, clock, policy, source="benvitaal.yaml")
    assert version.effective_from == datetime(2025, 5, 31, 22, 0, tzinfo=UTC)  # 1 June 00:00 in Amsterdam
    session.commit()
    session.expire_all()
    stored = session.get(PolicyVersion, 1)
    assert stored is not None and stored.effective_from == datetime(2025, 5, 31, 22, 0, tzinfo=UTC)


def test_r_pol_3_explicit_effective_from(session: Session, clock: SettableClock, policy: Policy) -> None:
    at = datetime(2025, 9, 1, 10, 0, tzinfo=UTC)
    version = register_version(session, clock, policy, source="benvitaal.yaml", effective_from=at)
    assert version.effective_from == at


def test_r_pol_3_no_version_yet(session: Session) -> None:
    assert current_version(session) is None
    assert list_versions(session) == []


def test_r_pol_3_content_is_stored_and_read_back(session: Session, clock: SettableClock, policy: Policy) -> None:
    version = register_version(session, clock, policy, source="benvitaal.yaml")
    assert version.content == policy.canonical_json()
    assert stored_policy(version.content, version.content_hash) == policy


def test_r_pol_3_content_of_an_older_row_is_filled_in(session: Session, clock: SettableClock, policy: Policy) -> None:
    session.add(PolicyVersion(seq=1, content_hash=policy.content_hash, effective_from=clock.now(),
                              loaded_at=clock.now(), source="benvitaal.yaml"))  # as stored before 0024
    session.commit()
    assert register_version(session, clock, policy, source="benvitaal.yaml").content == policy.canonical_json()


def test_r_pol_3_the_file_of_an_older_version_is_not_registered_again(session: Session, clock: SettableClock,
                                                                     policy: Policy) -> None:
    register_version(session, clock, policy, source="benvitaal.yaml")
    register_version(session, clock, changed(policy), source="benvitaal.yaml")
    # A server started with the first file: the stored versions decide, the stale copy adds nothing.
    assert register_version(session, clock, policy, source="benvitaal.yaml").seq == 1
    assert [v.seq for v in list_versions(session)] == [1, 2]


def test_r_gov_4_material_change_in_the_file_is_refused_at_start(session: Session, clock: SettableClock,
                                                                policy: Policy) -> None:
    register_version(session, clock, policy, source="benvitaal.yaml")
    session.commit()
    with pytest.raises(Conflict) as refused:
        register_version(session, clock, changed(policy, months=7), source="benvitaal.yaml")
    assert refused.value.code == "material_change_unpublished"
    assert "kluis policy publish" in refused.value.message and "30 days" in refused.value.message
    assert [p.code for p in refused.value.problems] == ["retention_longer:web_traffic"]
    session.rollback()
    assert [v.seq for v in list_versions(session)] == [1]


def test_r_pol_3_a_changed_file_cannot_overtake_a_published_version(session: Session, clock: SettableClock,
                                                                   policy: Policy) -> None:
    register_version(session, clock, policy, source="benvitaal.yaml")
    register_version(session, clock, changed(policy), source="benvitaal.yaml",
                     effective_from=clock.now() + timedelta(days=40))
    with pytest.raises(Conflict) as refused:
        register_version(session, clock, changed(policy, months=4), source="benvitaal.yaml")
    assert refused.value.code == "policy_version_scheduled"
