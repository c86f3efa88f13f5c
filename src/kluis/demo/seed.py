"""Realistic Dutch demo people and records, written through the vault like any service would."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from faker import Faker
from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.vault import employers as demo_employers
from kluis.vault.models import Employer
from kluis.vault.schemas import BatchRecordIn, IdentifierIn, PersonIn
from kluis.vault.service import add_employer
from kluis.wiring import Kluis

# The person the demo tells visitors to try the privacy centre as: an employee with every kind of record an
# employee has, on the demo's own mail domain. Their mail reaches the demo's mail catcher like everyone's.
DEMO_PERSON_EMAIL = "sanne.de.vries@demo.benvitaal.nl"
DEMO_PERSON_NAME = ("Sanne", "de Vries")

# (subject type, share of the population)
MIX = [("employee", 0.58), ("lead", 0.12), ("webinar_attendee", 0.08), ("community_member", 0.07),
       ("applicant", 0.03), ("website_visitor", 0.08), ("customer_contact", 0.04)]
DEVICES = ["Windows laptop", "MacBook", "iPhone", "Android-telefoon", "iPad", "Linux desktop"]
PAGES = ["/", "/benmobiel", "/declaraties", "/webinars", "/community", "/vacatures", "/contact", "/prijzen"]
TOPICS = ["benMobiel", "leaseauto", "ov-fiets", "thuiswerkvergoeding", "fietsplan", "webinars", "declareren",
          "duurzaam reizen", "secundaire arbeidsvoorwaarden", "reiskosten"]
COMMENTS = ["Handige app, declareren gaat snel.", "Kan de ritregistratie ook per week?", "Dank voor het webinar!",
            "Waar vind ik de handleiding voor de fietsregeling?", "Top service van de klantenservice.",
            "Graag een export naar Excel.", "Werkt de app ook op mijn tablet?"]
JOBS = ["HR-adviseur", "Salarisadministrateur", "Office manager", "Financieel controller", "Inkoper",
        "Directeur bedrijfsvoering", "Mobiliteitsmanager", "Teamleider HR", "Accountmanager", "Projectleider"]
# The basis each kind of demo person has for what is written about them, recorded before their records, as a
# service must (R-GATE-1): the contract's relation, or the newsletter consent a lead gave on the sign-up form.
RELATIONS = {"employee": "employment", "applicant": "application", "customer_contact": "order"}
CONSENTS = {"lead": "marketing_email"}
NEWSLETTER_NOTICE = "Ja, stuur mij de nieuwsbrief van benVitaal. Afmelden kan altijd via de link in elke e-mail."
CLAIMS = [("travel", "Treinreis naar klant"), ("travel", "Kilometervergoeding"), ("expense", "Parkeerkosten"),
          ("expense", "Lunch met relatie"), ("travel", "OV-chipkaart opladen"), ("expense", "Vakliteratuur")]


@dataclass
class SeedResult:
    people: int
    records: int
    employers: int


class DemoPopulation:
    """Generates people and their records deterministically from a seed, one batch at a time."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data must be reproducible, not secret
        self.fake = Faker("nl_NL")
        self.fake.seed_instance(seed)
        self.now = now
        self._serial = 0

    def subject_type(self) -> str:
        roll, total = self.rng.random(), 0.0
        for kind, share in MIX:
            total += share
            if roll < total:
                return kind
        return MIX[0][0]

    def mobile(self) -> str:
        """A valid Dutch mobile number (06-1x to 06-5x, 06-8x), unique per person: the serial is spread
        over the 10^7 subscriber numbers by multiplying with a number coprime to 10^7 (a bijection)."""
        self._serial += 1
        prefix = "123458"[(self._serial // 10_000_000) % 6]
        return f"06{prefix}{(self._serial * 7919 + 1_234_567) % 10_000_000:07d}"

    def email(self, first: str, last: str) -> str:
        self._serial += 1
        folded = unicodedata.normalize("NFKD", f"{first}.{last}".lower())
        local = re.sub(r"[^a-z0-9.]", "", folded).strip(".").replace("..", ".") or "contact"
        return f"{local}{self._serial}@{self.fake.free_email_domain()}"

    def ago(self, max_days: int, min_days: int = 0) -> datetime:
        return self.now - timedelta(days=self.rng.randint(min_days, max_days), minutes=self.rng.randint(0, 1439))

    def person(self, kind: str, employer: UUID | None) -> tuple[PersonIn, list[dict[str, Any]]]:
        first, last = self.fake.first_name(), self.fake.last_name()
        idents = []
        if kind != "website_visitor":
            idents.append(IdentifierIn(kind="email", value=self.email(first, last)))
        if kind in ("employee", "lead", "customer_contact", "applicant"):
            idents.append(IdentifierIn(kind="phone", value=self.mobile()))
        if kind == "employee" and employer:
            idents.append(IdentifierIn(kind="employee_number", value=f"E{self._serial:07d}"))
        person = PersonIn(subject_types=[kind], employer_id=employer if kind == "employee" else None,
                          identifiers=idents)
        basic = {"name": f"{first} {last}", "address": {"street": self.fake.street_address(),
                                                        "postcode": self.fake.postcode(), "city": self.fake.city()},
                 "birth_year": self.rng.randint(1960, 2004)}
        return person, getattr(self, f"_records_{kind}")(basic)

    def known_employee(self, first: str, last: str, email: str,
                       employer: UUID) -> tuple[PersonIn, list[dict[str, Any]]]:
        """An employee with a given name and address (and no phone: the generated numbers are all taken)."""
        person = PersonIn(subject_types=["employee"], employer_id=employer,
                          identifiers=[IdentifierIn(kind="email", value=email)])
        basic = {"name": f"{first} {last}", "address": {"street": self.fake.street_address(),
                                                        "postcode": self.fake.postcode(), "city": self.fake.city()},
                 "birth_year": self.rng.randint(1960, 2004)}
        return person, self._records_employee(basic)

    def _rec(self, category: str, purposes: list[str], basis: str, source: str, content: dict[str, Any],
             collected: datetime, controller: str = "benvitaal") -> dict[str, Any]:
        return {"category": category, "purposes": purposes, "legal_basis": basis, "source": source,
                "controller": controller, "content": content, "collected_at": collected,
                "last_activity_at": min(self.now, collected + timedelta(days=self.rng.randint(0, 30)))}

    def _traffic(self, n: int, purpose: str = "security") -> list[dict[str, Any]]:
        return [self._rec("web_traffic", [purpose], "legitimate_interest", "cookies",
                          {"ip": self.fake.ipv4_public(), "device": self.rng.choice(DEVICES),
                           "page": self.rng.choice(PAGES)}, self.ago(170)) for _ in range(n)]

    def _records_employee(self, basic: dict[str, Any]) -> list[dict[str, Any]]:
        out = [self._rec("basic", ["accounts"], "contract", "employer", basic, self.ago(2000, 400)),
               self._rec("account", ["accounts"], "contract", "direct",
                         {"username": basic["name"].split()[0].lower() + str(self.rng.randint(1, 999))},
                         self.ago(1500, 300))]
        for _ in range(self.rng.randint(3, 5)):
            kind, text = self.rng.choice(CLAIMS)
            at = self.ago(2190, 10)
            out.append(self._rec("financial", ["expense_claims"], "contract", "direct",
                                 {"kind": kind, "description": text, "amount_eur": f"{self.rng.uniform(4, 240):.2f}",
                                  "date": at.date().isoformat(),
                                  "settled_on": (at + timedelta(days=self.rng.randint(3, 40))).date().isoformat()},
                                 at, controller="employer"))
        out.append(self._rec("content", ["service_delivery"], "contract", "direct",
                             {"comment": self.rng.choice(COMMENTS)}, self.ago(700)))
        return out + self._traffic(2)

    def _records_lead(self, basic: dict[str, Any]) -> list[dict[str, Any]]:
        company = {"company": self.fake.company(), "job_title": self.rng.choice(JOBS)}
        return [self._rec("basic", ["lead_management"], "legitimate_interest",
                          self.rng.choice(["aggregator", "marketing_partner", "public_source"]), basic | company,
                          self.ago(1200)),
                self._rec("basic", ["marketing_email"], "consent", "direct", {"newsletter": "benVitaal nieuws"},
                          self.ago(1000)),
                self._rec("interests", ["profiling"], "legitimate_interest", "cookies",
                          {"topics": self.rng.sample(TOPICS, 3), "clicks": self.rng.randint(1, 40)}, self.ago(900)),
                *self._traffic(6, "improvement")]

    def _records_webinar_attendee(self, basic: dict[str, Any]) -> list[dict[str, Any]]:
        webinars = [self._rec("basic", ["webinars"], "legitimate_interest", "direct",
                              {"webinar": f"Webinar {self.rng.choice(TOPICS)}", "attended": self.rng.random() < 0.7},
                              self.ago(900)) for _ in range(3)]
        return [self._rec("basic", ["webinars"], "legitimate_interest", "direct", basic, self.ago(1000)),
                *webinars, *self._traffic(5)]

    def _records_community_member(self, basic: dict[str, Any]) -> list[dict[str, Any]]:
        posts = [self._rec("content", ["community"], "legitimate_interest", "direct",
                           {"post": self.rng.choice(COMMENTS)}, self.ago(800)) for _ in range(5)]
        return [self._rec("account", ["community"], "legitimate_interest", "direct",
                          {"username": f"lid{self.rng.randint(1000, 99999)}"}, self.ago(1000)),
                self._rec("basic", ["community"], "legitimate_interest", "direct", {"name": basic["name"]},
                          self.ago(1000)), *posts, *self._traffic(2)]

    def _records_applicant(self, basic: dict[str, Any]) -> list[dict[str, Any]]:
        return [self._rec("basic", ["recruitment"], "contract", "direct", basic, self.ago(300)),
                self._rec("application", ["recruitment"], "contract", "direct",
                          {"position": self.rng.choice(JOBS), "cv_summary": f"{self.rng.randint(1, 20)} jaar ervaring",
                           "references": self.rng.randint(0, 3)}, self.ago(300)),
                *self._traffic(8)]

    def _records_website_visitor(self, basic: dict[str, Any]) -> list[dict[str, Any]]:
        return self._traffic(10, "improvement")

    def _records_customer_contact(self, basic: dict[str, Any]) -> list[dict[str, Any]]:
        return [self._rec("basic", ["orders"], "contract", "direct", basic | {"company": self.fake.company()},
                          self.ago(1500)),
                self._rec("basic", ["quotes"], "legitimate_interest", "direct", {"quote": self.rng.choice(TOPICS)},
                          self.ago(900)),
                self._rec("account", ["accounts"], "contract", "direct",
                          {"username": f"klant{self.rng.randint(1000, 99999)}"}, self.ago(1200)),
                *self._traffic(6)]


class Seeding:
    """One seed written in parts: its employers at once, then its people as they are asked for (``people``), the
    same people in the same order as in one run. The demo writes a first few before it serves and the rest while
    it serves."""

    def __init__(self, kluis: Kluis, subjects: int, seed_value: int = 1) -> None:
        self.kluis, self.left = kluis, subjects
        self.population = DemoPopulation(seed_value, kluis.clock.now())
        self.result = SeedResult(people=0, records=0, employers=max(3, subjects // 250))
        with kluis.db.transaction() as session:
            self.employers = [add_employer(session, kluis.clock, "seed", self.population.fake.company()).id
                              for _ in range(self.result.employers)]
            # Every employer but the first has a privacy contact and a service agreement (R-DSR-8): the console
            # then shows both a forwarded request and one waiting for a contact. Demo addresses, on a reserved
            # domain.
            for number, employer_id in enumerate(self.employers[1:], start=2):
                demo_employers.set_terms(session, kluis.clock, "seed", employer_id, demo_employers.EmployerTerms(
                    f"privacy@werkgever-{number}.example", f"DEMO-DV-{number:03d}", date(2024, 1, 15), None))

    def people(self, count: int, batch: int = 500, on_progress: Callable[[int], None] | None = None) -> SeedResult:
        """Write up to ``count`` more of the seed's people, ``batch`` to a transaction; memory stays flat however
        many. What the seed has written so far."""
        population, kluis = self.population, self.kluis
        for chunk in _chunks(min(count, self.left), batch):
            generated = [population.person(kind, population.rng.choice(self.employers))
                         for kind in (population.subject_type() for _ in range(chunk))]
            with kluis.db.transaction() as session:
                vault = kluis.vault(session, actor="seed")
                created = vault.create_people([p for p, _ in generated])
                _record_bases(kluis, session, created, generated)
                items = [BatchRecordIn(person_id=person.id, **rec)
                         for person, (_, recs) in zip(created, generated, strict=True) for rec in recs]
                gate = kluis.gate(session, "seed")
                refused = gate.refusals([(f"items[{index}]", item.person_id, purpose)
                                         for index, item in enumerate(items) for purpose in item.purposes])
                if refused:  # the demo writes only what a service may: a refusal here is a defect in this module
                    raise RuntimeError(f"the gate refuses {len(refused)} demo record purpose(s), first: {refused[0]}")
                self.result.records += len(vault.add_records(None, items))
            self.left -= chunk
            self.result.people += chunk
            if on_progress:
                on_progress(chunk)
        return self.result


def seed(kluis: Kluis, subjects: int, seed_value: int = 1, batch: int = 500,
         on_progress: Callable[[int], None] | None = None) -> SeedResult:
    """Write ``subjects`` people in batches of ``batch``; memory stays flat however large ``subjects`` is."""
    return Seeding(kluis, subjects, seed_value).people(subjects, batch, on_progress)


def ensure_demo_person(kluis: Kluis) -> str:
    """The address of the demo's person to try, who is added (once) with an employee's records."""
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, actor="seed")
        if vault.identified(IdentifierIn(kind="email", value=DEMO_PERSON_EMAIL)) is None:
            employer = session.scalars(select(Employer.id).order_by(Employer.created_at).limit(1)).first()
            population = DemoPopulation(0, kluis.clock.now())
            if employer is None:  # a vault filled some other way than `kluis seed`
                employer = add_employer(session, kluis.clock, "seed", population.fake.company()).id
            data, records = population.known_employee(*DEMO_PERSON_NAME, DEMO_PERSON_EMAIL, employer)
            [person] = vault.create_people([data])
            _record_bases(kluis, session, [person], [(data, records)])
            vault.add_records(None, [BatchRecordIn(person_id=person.id, **rec) for rec in records])
    return DEMO_PERSON_EMAIL


def _record_bases(kluis: Kluis, session: Session, created: Sequence[Any],
                  generated: Sequence[tuple[PersonIn, list[dict[str, Any]]]]) -> None:
    gate, consents = kluis.gate(session, "seed"), kluis.consents(session, "seed")
    for person, (given, recs) in zip(created, generated, strict=True):
        kind = given.subject_types[0]
        if relation := RELATIONS.get(kind):
            gate.add_relation(person.id, relation, starts_at=min(rec["collected_at"] for rec in recs),
                              employer_id=given.employer_id if relation == "employment" else None)
        if purpose := CONSENTS.get(kind):
            consents.give(person.id, purpose, method="form", notice_text=NEWSLETTER_NOTICE, lang="nl")


def _chunks(total: int, size: int) -> Iterator[int]:
    while total > 0:
        yield min(size, total)
        total -= size
