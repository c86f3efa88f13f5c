"""Domain events (house style, "Between domains"): reactions run at once, in the publisher's session, in the
order they were subscribed; what they report comes back merged; nothing is published before start-up."""

from dataclasses import dataclass
from typing import Any

import pytest

import kluis.subscriptions as subscriptions
from kluis.kit.events import Dispatcher, NotInstalled, Subscription


@dataclass(frozen=True)
class Happened:
    what: str


@dataclass(frozen=True)
class Other:
    what: str


def test_reactions_run_in_the_publishers_session_in_order_and_report_merged():
    seen: list[tuple[Any, str, str]] = []

    def first(session: Any, event: Happened) -> dict[str, Any]:
        seen.append((session, "first", event.what))
        return {"a": 1, "b": 1}

    def second(session: Any, event: Happened) -> None:
        seen.append((session, "second", event.what))

    def third(session: Any, event: Happened) -> dict[str, Any]:
        seen.append((session, "third", event.what))
        return {"b": 2}

    dispatcher = Dispatcher()
    dispatcher.install([Subscription(Happened, first), Subscription(Other, second), Subscription(Happened, second),
                        Subscription(Happened, third)])
    session = object()
    assert dispatcher.publish(session, Happened("x")) == {"a": 1, "b": 2}  # type: ignore[arg-type]
    assert seen == [(session, "first", "x"), (session, "second", "x"), (session, "third", "x")]


def test_an_event_nobody_reacts_to_reports_nothing():
    dispatcher = Dispatcher()
    dispatcher.install([])
    assert dispatcher.publish(object(), Happened("x")) == {}  # type: ignore[arg-type]


def test_a_failing_reaction_fails_the_publisher():
    def broken(session: Any, event: Happened) -> None:
        raise ValueError("no")

    dispatcher = Dispatcher()
    dispatcher.install([Subscription(Happened, broken)])
    with pytest.raises(ValueError):
        dispatcher.publish(object(), Happened("x"))  # type: ignore[arg-type]


def test_publishing_before_the_subscriptions_are_installed_is_an_error():
    with pytest.raises(NotInstalled, match="Happened"):
        Dispatcher().publish(object(), Happened("x"))  # type: ignore[arg-type]


def test_every_domain_event_has_a_reaction():
    """An event class in a domain's ``events.py`` that nobody subscribes to is a change without its reaction."""
    import importlib
    import pathlib

    import kluis

    declared = set()
    for path in pathlib.Path(kluis.__file__).parent.glob("*/events.py"):
        if path.parent.name == "kit":
            continue
        module = importlib.import_module(f"kluis.{path.parent.name}.events")
        declared |= {value for value in vars(module).values()
                     if isinstance(value, type) and value.__module__ == module.__name__}
    assert declared
    assert declared == {subscription.event for subscription in subscriptions.SUBSCRIPTIONS}
