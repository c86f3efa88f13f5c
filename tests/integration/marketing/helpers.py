"""What the marketing tests share: people, the opt-in by its real mail and link, campaigns."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from tests.forms import filled

from kluis.consent.marketing.service import Marketing
from kluis.vault.schemas import IdentifierIn, PersonIn
from kluis.worker import drain, pollers

NOTICE = "Ja, ik wil de nieuwsbrief van benVitaal ontvangen. Afmelden kan altijd."


def person(kluis, email: str | None = "lezer@example.nl"):
    identifiers = [IdentifierIn(kind="email", value=email)] if email else []
    with kluis.db.transaction() as session:
        return kluis.vault(session, "test").create_person(PersonIn(subject_types=["lead"], identifiers=identifiers)).id


def send_all(kluis):
    return drain(kluis, pollers())


def link(message, path):
    found = re.search(rf"https://kluis\.benvitaal\.test{path}\?t=[^\s\"<]+", message.text)
    assert found, message.text
    return found.group()


def token_of(url):
    return parse_qs(urlsplit(url).query)["t"][0]


def subscribed(kluis, person_id):
    with kluis.db.sessions() as session:
        return Marketing(session, kluis, "t").subscribed(person_id)


def opted_in(client, kluis, catcher, person_id):
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").request_opt_in(person_id, notice_text=NOTICE, lang="nl")
    send_all(kluis)
    url = link(catcher.messages[-1], "/marketing/confirm")
    confirmed = client.post("/marketing/confirm", data=filled(client, url, t=token_of(url)))
    assert confirmed.status_code == 200, confirmed.text
    return url


def campaign(kluis, name="najaar"):
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").add_campaign(name, "Nieuw: benMobiel", "Reis slimmer met benMobiel.")
    return name
