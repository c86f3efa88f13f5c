"""Domain events, dispatched inside the publisher's transaction.

A domain tells the others what happened by publishing a small frozen dataclass (each domain's ``events.py``);
the domains that care react in their ``reactions.py``. Reactions run at once, in the order they were
subscribed, in the publisher's session: what they write commits or rolls back with the change that caused it,
and a reaction that fails fails the publisher's change. A reaction may report facts (ids, counts, flags) as a
mapping; ``publish`` returns them merged, for the publisher's own record (its audit event, its job's progress).

Who reacts to what is installed once per process at start-up (``kluis.subscriptions``, imported by every entry
point), so a lower domain never imports the domain that reacts to it. Publishing before that is an error rather
than a change that silently goes without its reactions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

E = TypeVar("E")
Reaction = Callable[[Session, E], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Subscription(Generic[E]):
    event: type[E]
    reaction: Reaction[E]


class NotInstalled(RuntimeError):
    """An event was published before the start-up installed the subscriptions."""


class Dispatcher:
    """The subscriptions of one process, and the dispatch of an event to them."""

    def __init__(self) -> None:
        self._reactions: dict[type, tuple[Reaction[Any], ...]] | None = None

    def install(self, subscriptions: Iterable[Subscription[Any]]) -> None:
        """Make these the subscriptions (installing the same list again changes nothing)."""
        table: dict[type, list[Reaction[Any]]] = {}
        for subscription in subscriptions:
            table.setdefault(subscription.event, []).append(subscription.reaction)
        self._reactions = {event: tuple(reactions) for event, reactions in table.items()}

    def publish(self, session: Session, event: object) -> dict[str, Any]:
        """Run every reaction to this event in ``session``; what they report, merged."""
        if self._reactions is None:
            raise NotInstalled(f"{type(event).__name__} was published before the subscriptions were installed: "
                               "import kluis.subscriptions at start-up")
        reported: dict[str, Any] = {}
        for reaction in self._reactions.get(type(event), ()):
            found = reaction(session, event)
            if found:
                reported.update(found)
        return reported


_process = Dispatcher()
install = _process.install
publish = _process.publish
