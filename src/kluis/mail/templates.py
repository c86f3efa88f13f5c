"""Message types: a name, a subject/text/html template triple, and a context builder.

The builder turns the ids in an outbox row into the values to show, at send time (so the outbox holds
no personal data and a message reflects the person's choices when it leaves, not when it was queued).
The templates' texts are in the gettext catalogs (``{{ _("...") }}``, docs/i18n.md) and the message is rendered in
the row's language; a type may instead keep one file per language (``subject.nl.txt`` ...), as a test's does.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.db import Base
from kluis.kit import i18n
from kluis.kit.errors import ConfigurationError, Problem
from kluis.mail import rules
from kluis.mail.models import Outbox

MAIL_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "mail"
PARTS = ("subject{lang}.txt", "body{lang}.txt", "body{lang}.html")  # {lang}: "" for one file in the catalogs' words


class Cancelled(Exception):  # noqa: N818 - it names the outcome, as the builders raise it
    """Raised by a builder when the message should no longer go (opted out, erased, withdrawn, ...).
    The row is marked cancelled with this reason code; nothing is sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Undeliverable(Exception):  # noqa: N818 - it names the outcome
    """The message can never be sent as it stands (no address, a header a builder may not set, ...):
    the row fails at once with this code instead of being retried."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


Subject = TypeVar("Subject", bound=Base)


def context_id(context: Mapping[str, Any], name: str) -> uuid.UUID | None:
    """The id an outbox context holds under ``name``, or None when it is missing or not an id."""
    try:
        return uuid.UUID(str(context.get(name)))
    except ValueError:
        return None


def subject_of(session: Session, model: type[Subject], row: Outbox, name: str) -> Subject:
    """What a queued message is about (the row whose id its context holds under ``name``), read at send time:
    when it is gone, the message is cancelled as ``<name without _id>_gone``. Found by its ``id`` column, which is
    the whole key of some and part of it in others (a person's rows are keyed on the person too)."""
    found_id = context_id(row.context, name)
    found = session.scalars(select(model).where(model.__table__.c.id == found_id)).one_or_none() if found_id else None
    if found is None:
        raise Cancelled(f"{name.removesuffix('_id')}_gone")
    return found


@dataclass(frozen=True)
class Attachment:
    """A file sent along, made by the builder at send time (never stored in the outbox)."""

    filename: str
    media_type: str  # e.g. application/pdf
    data: bytes


@dataclass(frozen=True)
class MessageContext:
    """What a builder gives: the values the templates show, extra headers (e.g. List-Unsubscribe) and files."""

    values: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    attachments: Sequence[Attachment] = ()


# The second argument is the running Kluis (``kluis.wiring.Kluis``), built above mail: each builder names the type.
Builder = Callable[[Session, Any, Outbox], MessageContext]
ContextCheck = Callable[[Mapping[str, Any]], list[Problem]]


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class MessageType:
    name: str
    builder: Builder
    kind: str
    directory: Path = MAIL_TEMPLATES
    check: ContextCheck | None = None

    def render(self, lang: str, values: Mapping[str, Any]) -> Rendered:
        env = _environment(self.directory)
        with i18n.speaking(lang):
            subject, text, html = (env.get_template(_part(self.directory, self.name, part, lang)).render(values)
                                   for part in PARTS)
        return Rendered(subject=" ".join(subject.split()), text=text, html=html)


def _part(directory: Path, name: str, part: str, lang: str) -> str:
    """``name/body.txt`` (texts in the catalogs), else the language's own file ``name/body.nl.txt``."""
    shared = f"{name}/{part.format(lang='')}"
    return shared if (directory / shared).is_file() else f"{name}/{part.format(lang='.' + lang)}"


_REGISTRY: dict[str, MessageType] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def register_template(name: str, builder: Builder, kind: str = rules.ADMINISTRATIVE,
                      directory: Path = MAIL_TEMPLATES, check: ContextCheck | None = None) -> MessageType:
    """Declare a message type. Its templates are ``<directory>/<name>/subject.txt``, ``body.txt`` and ``body.html``
    (or one of each per language, ``subject.<lang>.txt``); they may extend ``_layout.html`` and include
    ``_footer.txt``.
    Checked now, so a missing translation stops the start-up instead of a send. ``check`` validates
    a context when the message is queued, so a wrong code fails the business transaction, not the send."""
    if not _NAME.match(name):
        raise ConfigurationError(f"mail template name {name!r}: lower case letters, digits and _",
                                 code="mail_template_invalid")
    if kind not in rules.KINDS:
        raise ConfigurationError(f"mail template {name!r}: kind is one of {', '.join(rules.KINDS)}",
                                 code="mail_template_invalid")
    missing = [f"{name}/{part.format(lang='.' + lang)}" for part in PARTS for lang in rules.LANGS
               if not (directory / name / part.format(lang="")).is_file()
               and not (directory / name / part.format(lang="." + lang)).is_file()]
    if missing:
        raise ConfigurationError(f"mail template {name!r} lacks {', '.join(missing)} in {directory}",
                                 code="mail_template_incomplete")
    existing = _REGISTRY.get(name)
    message_type = MessageType(name=name, builder=builder, kind=kind, directory=directory, check=check)
    if existing is not None and existing != message_type:
        raise ConfigurationError(f"mail template {name!r} is registered twice", code="mail_template_duplicate")
    _REGISTRY[name] = message_type
    return message_type


def message_type(name: str) -> MessageType:
    found = _REGISTRY.get(name)
    if found is None:
        raise ConfigurationError(f"no mail template {name!r} is registered (known: {', '.join(sorted(_REGISTRY))})",
                                 code="mail_template_unknown")
    return found


@cache
def _environment(directory: Path) -> Environment:
    loaders = [FileSystemLoader(directory)]
    if directory != MAIL_TEMPLATES:
        loaders.append(FileSystemLoader(MAIL_TEMPLATES))  # the shared layout and footers
    env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, keep_trailing_newline=True, auto_reload=False)
    i18n.install(env)
    return env
