"""R-POL-3, R-GOV-4: a published version takes effect at its moment in every running process, without a restart;
a material change needs the notice period; bad input writes nothing; the gate asks consent again."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from tests.integration.policy.policy_support import (
    days,
    marketing_longer,
    person,
    profiling_on_consent,
    publish_at,
    wording,
)

from kluis import schema, wiring
from kluis.audit.models import AuditEvent
from kluis.changes.tasks import RestampPoller
from kluis.kit.clock import SettableClock
from kluis.kit.errors import Conflict, Invalid
from kluis.policy.models import PolicyAnnouncement, PolicyVersion
from kluis.policy.publish import MIN_LEAD
from kluis.policy.timeline import REFRESH
from kluis.schema import alembic_config
from kluis.vault.models import Record
from kluis.worker import drain


def counts(kluis) -> tuple[int, int, int]:
    with kluis.db.sessions() as session:
        return (session.scalar(select(func.count()).select_from(PolicyVersion)) or 0,
                session.scalar(select(func.count()).select_from(PolicyAnnouncement)) or 0,
                session.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.action.like("policy.%"))) or 0)


def test_r_pol_3_a_version_takes_effect_at_its_moment_in_every_process(kluis, clock) -> None:
    kluis.register_policy()
    first = kluis.policy
    # Another process on the same database (a second server), with its own clock, already running.
    other = wiring.build(kluis.settings, clock=SettableClock(clock.now()))
    try:
        assert other.policy == first and other.policy_version == 1
        at = clock.now() + days(2)
        published = publish_at(kluis, wording(first), at)
        assert (published.version.seq, published.announced) == (2, False)
        assert [c.key for c in published.changes] == ["retention_shorter:web_traffic"]
        for process in (kluis, other):
            process.clock.set(at - timedelta(microseconds=1))  # type: ignore[attr-defined]
            assert (process.policy_version, process.policy.content_hash) == (1, first.content_hash)
            process.clock.set(at)  # type: ignore[attr-defined]
            assert process.policy_version == 2
            assert process.policy.content_hash == wording(first).content_hash
            assert process.policy.retention_rules_for("web_traffic")[0].term.months == 5
    finally:
        other.close()


def test_r_gov_4_the_gate_enforces_the_old_basis_until_the_moment(kluis, clock) -> None:
    kluis.register_policy()
    pid = person(kluis, "lead@example.nl", ("interests",))
    at = clock.now() + days(31)
    published = publish_at(kluis, profiling_on_consent(kluis.policy), at)
    assert published.announced
    with kluis.db.sessions() as session:
        clock.set(at - timedelta(seconds=1))
        assert kluis.gate(session, "test").decide(pid, "profiling").reason == "legitimate_interest"
        clock.set(at)
        decision = kluis.gate(session, "test").decide(pid, "profiling")
    assert (decision.allowed, decision.reason) == (False, "no_consent")


def test_r_gov_4_old_consent_does_not_cover_a_changed_purpose(kluis, clock) -> None:
    kluis.register_policy()
    pid = person(kluis, "lead@example.nl", consent="marketing_email")
    at = clock.now() + days(30)
    publish_at(kluis, marketing_longer(kluis.policy), at)
    with kluis.db.sessions() as session:
        assert kluis.gate(session, "test").decide(pid, "marketing_email").allowed  # before the moment
    other = person(kluis, "renewed@example.nl", consent="marketing_email")
    # Asked again by the announcement, the person consents to the new terms before they take effect.
    clock.set(at - days(10))
    with kluis.db.transaction() as session:
        kluis.consents(session, "test").give(other, "marketing_email", method="email_confirmation",
                                             notice_text="Ja, ook onder de nieuwe voorwaarden.", lang="nl",
                                             policy_version=2)
    clock.set(at)
    with kluis.db.sessions() as session:
        gate = kluis.gate(session, "test")
        old, renewed = gate.decide(pid, "marketing_email"), gate.decide(other, "marketing_email")
    assert (old.allowed, old.reason) == (False, "consent_renewal_needed")
    assert old.facts["consent_policy_version"] == 1 and old.facts["consent_from_version"] == 2
    assert (renewed.allowed, renewed.reason, renewed.facts["consent_policy_version"]) == (True, "consent", 2)
    # Consent given through any route once the version is in force is given under it.
    with kluis.db.transaction() as session:
        kluis.consents(session, "test").give(pid, "marketing_email", method="form", notice_text="Ja", lang="nl")
        assert kluis.gate(session, "test").decide(pid, "marketing_email").allowed


def test_r_gov_4_material_change_published_with_notice_starts_its_announcement(kluis, clock) -> None:
    kluis.register_policy()
    at = clock.now() + days(30)
    published = publish_at(kluis, marketing_longer(kluis.policy), at)
    assert [c.key for c in published.changes] == ["retention_longer:marketing_contacts"]
    with kluis.db.sessions() as session:
        announcement = session.get(PolicyAnnouncement, 2)
        events = session.execute(select(AuditEvent.action, AuditEvent.object_ids, AuditEvent.actor, AuditEvent.details)
                                 .where(AuditEvent.action.like("policy.%")).order_by(AuditEvent.seq)).all()
    assert announcement is not None and announcement.state == "running" and announcement.after is None
    assert [(e[0], e[1], e[2]) for e in events] == [
        ("policy.version_added", ["1"], "system"), ("policy.version_published", ["2"], "staff:dpo"),
        ("policy.announcement_started", ["2"], "staff:dpo")]
    assert events[1][3]["material"] == ["retention_longer:marketing_contacts"]
    assert events[1][3]["effective_from"] == at.isoformat() and events[1][3]["follows"] == 1


@pytest.mark.parametrize(("when", "code"), [
    (lambda now: now - timedelta(minutes=5), "effective_at_past"),
    (lambda now: now, "effective_at_past"),
    (lambda now: now + timedelta(seconds=30), "effective_at_too_soon"),
    (lambda now: (now + timedelta(days=2)).replace(tzinfo=None), "effective_at_without_zone"),
])
def test_r_gov_4_a_moment_in_the_past_or_too_soon_writes_nothing(kluis, clock, when, code) -> None:
    kluis.register_policy()
    before = counts(kluis)
    with pytest.raises(Invalid) as refused:
        publish_at(kluis, wording(kluis.policy), when(clock.now()))
    assert refused.value.code == code and refused.value.problems[0].path == "effective_at"
    assert counts(kluis) == before


def test_r_gov_4_material_change_too_soon_writes_nothing(kluis, clock) -> None:
    kluis.register_policy()
    before = counts(kluis)
    with pytest.raises(Invalid) as refused:
        publish_at(kluis, marketing_longer(kluis.policy), clock.now() + days(29))
    assert refused.value.code == "notice_too_short"
    assert "at least 30 days" in refused.value.message
    assert (clock.now() + days(30)).isoformat() in refused.value.message
    assert [p.code for p in refused.value.problems] == ["notice_too_short", "retention_longer:marketing_contacts"]
    assert counts(kluis) == before
    # The notice period is the one the version in force promised.
    longer = kluis.policy.model_copy(update={"changes": kluis.policy.changes.model_copy(update={"notice_days": 45})})
    publish_at(kluis, longer, clock.now() + days(1))  # the setting itself is not material
    clock.set(clock.now() + days(2))
    with pytest.raises(Invalid, match="at least 45 days"):
        publish_at(kluis, marketing_longer(longer), clock.now() + days(40))


def test_r_pol_3_the_same_content_or_a_moment_before_the_last_version_is_refused(kluis, clock) -> None:
    kluis.register_policy()
    with pytest.raises(Conflict) as same:
        publish_at(kluis, kluis.policy, clock.now() + days(1))
    assert same.value.code == "policy_unchanged"
    publish_at(kluis, wording(kluis.policy), clock.now() + days(10))
    before = counts(kluis)
    with pytest.raises(Invalid) as early:
        publish_at(kluis, marketing_longer(wording(kluis.policy)), clock.now() + days(5))
    assert early.value.code == "effective_at_before_latest"
    assert counts(kluis) == before


def test_r_pol_3_every_process_reads_a_version_before_its_moment() -> None:
    assert MIN_LEAD > REFRESH


def test_r_pol_3_first_version_published_before_any_is_stored(kluis, clock) -> None:
    at = datetime(2027, 1, 1, tzinfo=clock.now().tzinfo)
    published = publish_at(kluis, kluis.policy, at)
    assert (published.version.seq, published.changes) == (1, ())
    assert kluis.policy_version is None  # the configured file is enforced until then
    clock.set(at)
    assert kluis.policy_version == 1


@pytest.mark.plain_schema
def test_r_pol_3_migration_0024_goes_down_and_up_to_the_models(kluis, clock) -> None:
    kluis.register_policy()
    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.downgrade(config, "0023_orders")
        assert "policy_announcement" not in inspect(conn).get_table_names()
        assert "content" not in {c["name"] for c in inspect(conn).get_columns("policy_version")}
        command.upgrade(config, "head")
    assert schema.differences(kluis.db) == []
    # The version stored before 0024 gets its content back from the configured file at the next start.
    kluis.timeline.forget()
    assert kluis.register_policy() == 1
    with kluis.db.sessions() as session:
        assert session.get(PolicyVersion, 1).content == kluis.policy.canonical_json()  # type: ignore[union-attr]


def test_r_pol_3_records_are_dated_again_when_a_retention_change_takes_effect(kluis, clock) -> None:
    kluis.register_policy()
    pid = person(kluis, "web@example.nl", ("web_traffic",))
    with kluis.db.sessions() as session:
        [(collected, due)] = session.execute(select(Record.collected_at, Record.due_at)
                                             .where(Record.person_id == pid)).all()
    assert due > collected + timedelta(days=180)  # six months after collection
    at = clock.now() + days(2)
    publish_at(kluis, wording(kluis.policy), at)  # web traffic kept 5 months instead of 6
    poller = RestampPoller(batch=1)
    drain(kluis, [poller])  # the first version is marked; nothing of the next is in force yet
    with kluis.db.sessions() as session:
        assert session.scalar(select(Record.due_at).where(Record.person_id == pid)) == due
    clock.set(at)
    assert drain(kluis, [poller])["policy_redating"] >= 2
    with kluis.db.sessions() as session:
        redated = session.scalar(select(Record.due_at).where(Record.person_id == pid))
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.records_redated")
                                .order_by(AuditEvent.seq)).one()
        version = session.get(PolicyVersion, 2)
    assert redated is not None and redated < due and (due - redated).days in (30, 31)
    assert event.object_ids == ["2"] and event.details == {"under_version": 2}
    assert version is not None and version.restamped_at == at
    assert drain(kluis, [poller])["policy_redating"] == 0
