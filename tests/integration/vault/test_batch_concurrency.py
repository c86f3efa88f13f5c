"""Batches written at the same time for the same people all land: the people's rows are taken in one order, so
two batches never wait on each other in a circle (a deadlock answered 500 under load: bench/load.py's batch
scenario). R-VLT-1, issue 18 §6."""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import func, select

from kluis.vault.models import Record
from kluis.vault.schemas import BatchRecordIn, PersonIn

WRITERS, BATCHES, PEOPLE = 6, 12, 40


def test_r_vlt_1_concurrent_batches_for_overlapping_people_all_commit(kluis):
    """Six writers each add twelve batches of 40 records for the same 40 people, in an order of their own
    (with retention's last-activity bound moving each person's row): every batch commits, none fails."""
    if kluis.db.dialect != "postgresql":
        pytest.skip("row locks between concurrent transactions: PostgreSQL (SQLite writes one at a time)")
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        people = [vault.create_person(PersonIn(subject_types=["employee"])).id for _ in range(PEOPLE)]
    failures: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(seed: int) -> None:
        order = list(people)
        chance = random.Random(seed)
        start.wait(timeout=60)
        for n in range(BATCHES):
            chance.shuffle(order)
            items = [BatchRecordIn(person_id=pid, category="basic", purposes=["accounts"], legal_basis="contract",
                                   source="direct", content={"writer": seed, "batch": n}) for pid in order]
            try:
                with kluis.db.transaction() as session:
                    kluis.vault(session, "test").add_records(None, items)
            except Exception as exc:  # noqa: BLE001 - every failure is reported, not only the first
                failures.append(exc)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, f"{len(failures)} batch(es) failed, first: {failures[0]!r}"
    with kluis.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Record)) == WRITERS * BATCHES * PEOPLE
