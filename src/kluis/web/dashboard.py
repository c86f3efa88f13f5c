"""The DPO's figures (issue 19 §2): requests by state and days left, consents per week and by opt-out route, the
retention sweeps' erasures per rule, open breaches and complaints. Counts only, no person can be picked out, so
every role with ``counts.read`` sees them.

Every figure is an aggregate query (``GROUP BY`` over a ``CASE`` that puts each row in its bucket): the database
counts, the page holds a few dozen numbers however many rows there are. The sweeps' tallies sit in a JSON column
per run; those runs are read a row at a time, one per sweep in the window (a few a day at most).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from babel.dates import format_date
from markupsafe import Markup
from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from kluis.breaches.models import Breach
from kluis.breaches.rules import Risk
from kluis.complaints import repository as complaints
from kluis.consent.models import ConsentEvent
from kluis.kit import i18n
from kluis.kit.clock import AMSTERDAM
from kluis.kit.i18n import N_
from kluis.kit.i18n import gettext as _
from kluis.retention.models import SweepRun
from kluis.rights.models import DataSubjectRequest
from kluis.rights.rules import CLOSED, State
from kluis.web.charts import Series, bar_chart, line_chart

WEEKS = 8
# Days left before an open request's deadline: (bucket key, up to this many days; None: beyond the last).
DAYS_LEFT = (("overdue", 0), ("0-7", 7), ("8-14", 14), ("15-21", 21), ("22+", None))


@dataclass(frozen=True)
class Figures:
    requests_by_state: list[tuple[str, int]]
    requests_by_days_left: list[tuple[str, int]]
    weeks: list[datetime]  # the Monday (Amsterdam) each week starts, oldest first
    given: list[int]
    withdrawn: list[int]
    withdrawn_by_route: list[tuple[str, int]]
    erasures_by_rule: dict[str, list[int]]  # per retention rule, records erased in each week
    breaches_open: list[tuple[str, int]]
    complaints: dict[str, int]

    @property
    def overdue(self) -> int:
        return dict(self.requests_by_days_left)["overdue"]


def figures(session: Session, now: datetime, weeks: int = WEEKS) -> Figures:
    starts = week_starts(now, weeks)
    given, withdrawn = _consents_per_week(session, starts)
    return Figures(_requests_by_state(session), _requests_by_days_left(session, now), starts, given, withdrawn,
                   _withdrawals_by_route(session, starts[0]), _erasures_per_rule(session, starts),
                   _breaches_open(session), complaints.counts(session, now))


def week_starts(now: datetime, weeks: int) -> list[datetime]:
    """Midnight of the Monday that starts each of the last ``weeks`` weeks in Amsterdam, this week last."""
    today = now.astimezone(AMSTERDAM).date()
    monday = today - timedelta(days=today.weekday())
    return [datetime.combine(monday - timedelta(weeks=k), time(), AMSTERDAM) for k in range(weeks - 1, -1, -1)]


def _bucket(column: Any, starts: Sequence[datetime]) -> ColumnElement[Any]:
    """Which week ``column`` falls in (0 = the oldest); NULL before the first or after the last."""
    edges = [*starts, starts[-1] + timedelta(weeks=1)]
    return case(*((and_(column >= edges[i], column < edges[i + 1]), i) for i in range(len(starts))), else_=None)


def _open() -> ColumnElement[bool]:
    return DataSubjectRequest.state.not_in([s.value for s in CLOSED])


def _requests_by_state(session: Session) -> list[tuple[str, int]]:
    found = _counted(session.execute(select(DataSubjectRequest.state, func.count()).where(_open())
                                     .group_by(DataSubjectRequest.state)))
    return [(s.value, int(found.get(s.value, 0))) for s in State if s not in CLOSED]


def _requests_by_days_left(session: Session, now: datetime) -> list[tuple[str, int]]:
    whens = [(DataSubjectRequest.deadline_at <= now + timedelta(days=days), key)
             for key, days in DAYS_LEFT if days is not None]
    bucket = case(*whens, else_=DAYS_LEFT[-1][0])
    found = _counted(session.execute(select(bucket, func.count()).where(_open()).group_by(bucket)))
    return [(key, int(found.get(key, 0))) for key, _ in DAYS_LEFT]


def _consents_per_week(session: Session, starts: Sequence[datetime]) -> tuple[list[int], list[int]]:
    week = _bucket(ConsentEvent.at, starts)
    given, withdrawn = [0] * len(starts), [0] * len(starts)
    for index, action, count in session.execute(select(week, ConsentEvent.action, func.count())
                                                .where(week.is_not(None)).group_by(week, ConsentEvent.action)):
        (given if action == "given" else withdrawn)[int(index)] += int(count)
    return given, withdrawn


def _withdrawals_by_route(session: Session, since: datetime) -> list[tuple[str, int]]:
    """How people opted out in the window: the method recorded with each withdrawal (R-CONS-3)."""
    rows = session.execute(select(ConsentEvent.method, func.count())
                           .where(ConsentEvent.action == "withdrawn", ConsentEvent.at >= since)
                           .group_by(ConsentEvent.method).order_by(ConsentEvent.method))
    return [(method, int(count)) for method, count in rows]


def _erasures_per_rule(session: Session, starts: Sequence[datetime]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    end = starts[-1] + timedelta(weeks=1)
    runs = session.execute(select(SweepRun.started_at, SweepRun.per_rule)
                           .where(SweepRun.started_at >= starts[0], SweepRun.started_at < end,
                                  SweepRun.finished_at.is_not(None))
                           .execution_options(yield_per=200))
    for started_at, per_rule in runs:
        index = max(i for i, start in enumerate(starts) if started_at >= start)
        for rule_id, tally in (per_rule or {}).items():
            found.setdefault(rule_id, [0] * len(starts))[index] += int(tally.get("records", 0))
    return dict(sorted(found.items()))


def _counted(rows: Iterable[Any]) -> dict[str, int]:
    return {str(key): int(count) for key, count in rows}


def _breaches_open(session: Session) -> list[tuple[str, int]]:
    """Open breaches by what they wait for: the DPO's risk decision, filing with the AP, telling the people."""
    to_file = and_(Breach.risk.in_([Risk.RISK.value, Risk.HIGH.value]), Breach.ap_filed_at.is_(None))
    notifying = and_(Breach.risk == Risk.HIGH.value,
                     or_(Breach.notify_state.is_(None), Breach.notify_state != "done"))
    stage = case((Breach.risk.is_(None), "to_decide"), (to_file, "to_file"), (notifying, "to_notify"), else_=None)
    found = _counted(session.execute(select(stage, func.count()).where(stage.is_not(None)).group_by(stage)))
    return [(key, int(found.get(key, 0))) for key in ("to_decide", "to_file", "to_notify")]


# --- the charts, in the page's language ----------------------------------------------------------

DAYS_LABELS = {"overdue": N_("overdue"), "0-7": N_("0–7 days"), "8-14": N_("8–14 days"), "15-21": N_("15–21 days"),
               "22+": N_("22 days or more")}
BREACH_LABELS = {"to_decide": N_("breaches: risk to decide"), "to_file": N_("breaches: to file with the AP"),
                 "to_notify": N_("breaches: people to tell")}


@dataclass(frozen=True)
class Chart:
    """One chart and the same figures as a table: ``columns`` head the table, ``rows`` are (label, values)."""

    id: str
    title: str
    svg: Markup
    columns: list[str]
    rows: list[tuple[str, list[int]]]


def charts(found: Figures, term: Callable[[object], str]) -> list[Chart]:
    """The dashboard's charts; ``term`` shows a stored value (a state, a method) in the page's language."""
    weeks = [i18n.day(start.date()) for start in found.weeks]
    # Eight full dates do not fit under a chart: the axis says day and month, the table the whole date.
    ticks = [format_date(start.date(), "d MMM", locale=i18n.language()) for start in found.weeks]
    week_title = _("Week starting")
    made = [
        _chart(bar_chart, "requests-state", _("Open requests by state"), _("State"), _("Requests"),
               [term(s) for s, _n in found.requests_by_state], [(_("Open requests"), found.requests_by_state)]),
        _chart(bar_chart, "requests-days", _("Open requests by days left before the deadline"), _("Days left"),
               _("Requests"), [_(DAYS_LABELS[k]) for k, _n in found.requests_by_days_left],
               [(_("Open requests"), found.requests_by_days_left)]),
        _chart(line_chart, "consents-weeks", _("Consents given and withdrawn per week"), week_title, _("Consents"),
               weeks, [(_("given"), list(zip(weeks, found.given, strict=True))),
                       (_("withdrawn"), list(zip(weeks, found.withdrawn, strict=True)))], ticks),
        _chart(bar_chart, "opt-out-routes", _("Withdrawals by route, these weeks"), _("Route"), _("Withdrawals"),
               [term(m) for m, _n in found.withdrawn_by_route], [(_("Withdrawals"), found.withdrawn_by_route)]),
        _chart(bar_chart, "erasures-rules", _("Records erased by the retention sweeps, per rule and week"),
               week_title, _("Records"), weeks,
               [(rule, list(zip(weeks, counts, strict=True))) for rule, counts in found.erasures_by_rule.items()],
               ticks),
    ]
    open_items = [(_(BREACH_LABELS[k]), n) for k, n in found.breaches_open]
    open_items += [(_("complaints: open"), found.complaints.get("open", 0)),
                   (_("complaints: overdue"), found.complaints.get("overdue", 0))]
    made.append(_chart(bar_chart, "open-registers", _("Open breaches and complaints"), _("Waiting for"), _("Open"),
                       [label for label, _n in open_items], [(_("Open"), open_items)]))
    return made


def _chart(draw: Callable[..., Markup], chart_id: str, title: str, x_title: str, y_title: str, labels: list[str],
           series: list[tuple[str, list[tuple[str, int]]]], ticks: list[str] | None = None) -> Chart:
    """``labels`` head the table's rows; ``ticks``, when given, are the same labels shortened for the axis."""
    drawn = [Series(name, [n for _label, n in points]) for name, points in series]
    rows = [(label, [s.values[i] for s in drawn]) for i, label in enumerate(labels)]
    return Chart(chart_id, title, draw(chart_id, title, ticks or labels, drawn, x_title=x_title, y_title=y_title),
                 [x_title, *(s.name for s in drawn)], rows)
