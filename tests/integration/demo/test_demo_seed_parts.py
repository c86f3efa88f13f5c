"""`kluis demo` serves within seconds (issue 19 §4): it writes a first few of its people before it serves and the
rest while it serves. Written in parts, they are the people one run writes, every one of them."""

from __future__ import annotations

from sqlalchemy import func, select

from kluis.demo.commands import seed_rest
from kluis.demo.seed import DemoPopulation, Seeding
from kluis.vault.models import Person
from kluis.vault.schemas import IdentifierIn


def _addresses_of_one_run(kluis, subjects, seed_value, employers):
    """The addresses one run of the seed gives its people, in order: the seed names its employers first (their ids
    draw nothing)."""
    population = DemoPopulation(seed_value, kluis.clock.now())
    for _ in employers:
        population.fake.company()
    people = [population.person(kind, population.rng.choice(employers))[0]
              for kind in (population.subject_type() for _ in range(subjects))]
    return [i.value for p in people for i in p.identifiers if i.kind == "email"]


def test_issue_19_4_the_demo_seed_written_in_parts_is_the_seed_of_one_run(kluis, capsys):
    seeding = Seeding(kluis, 30, seed_value=7)
    assert seeding.people(8, batch=3).people == 8 and seeding.left == 22  # before serving
    seed_rest(seeding, batch=5, every=10)  # while serving, in batches of its own
    assert (seeding.result.people, seeding.left) == (30, 0)
    assert [line for line in capsys.readouterr().out.splitlines() if "demo seed" in line] == [
        "demo seed: 13 of 30 people", "demo seed: 23 of 30 people", "demo seed: 30 of 30 people"]
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 30
        vault = kluis.vault(session, actor="test")
        expected = _addresses_of_one_run(kluis, 30, 7, seeding.employers)
        assert expected and all(vault.identified(IdentifierIn(kind="email", value=a)) for a in expected)
