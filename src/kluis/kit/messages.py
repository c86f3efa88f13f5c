"""Messages marked for the catalogs where they are made (``N_``), translated where they are shown.

Kept apart from ``kit.i18n`` (which reads the catalogs and formats dates with the clock's zone) so that the lowest
modules, the clock among them, can mark their messages without importing the catalogs."""

from __future__ import annotations


class Message(str):
    """An English message that remembers its catalog text and values, so that a page can say it in another
    language (``kit.i18n.translate``) while the API and the CLI keep the English. A value that is itself a marked
    message is translated with it."""

    template: str
    params: dict[str, object]


def N_(message: str, **params: object) -> str:  # noqa: N802 - the name gettext tools look for
    """Mark a message for the catalogs without translating it here: it is translated where it is shown (an error
    raised in a service keeps its English text for the API; the console page translates it). Values go in as
    ``%(name)s`` placeholders, so the catalog holds one text for every value."""
    made = Message(message % params if params else message)
    made.template, made.params = message, params
    return made
