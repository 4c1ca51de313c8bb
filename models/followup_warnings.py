"""Early warning (seed 002 §2.2: a body that sees during the year that a goal cannot be
reached must tell RF): the items that turned red this period, or are yellow for the
second period running, listed per body to its responsible official — the owner of the
body's follow-up step for the period — in a mail written with the statuses, and in the
status artifact. Pure apart from the session handed in."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlmodel import Session, col, delete, select

from models import notices as n
from models.followup import period_statuses
from models.goals import NOT_REPORTED, GoalPlan, status_label
from models.people import Directory
from models.rollup import RED
from models.tables import Cycle, Mode, OutboxMessage, OutboxState, StepInstance, Unit
from models.workdays import WorkingCalendar

EARLY_WARNING = "early_warning"  # the notice kind (notifications/templates/early_warning.*)
REASONS = {"turned_red": "har blivit röd", "yellow_twice": "gul två perioder i rad"}


@dataclass(frozen=True)
class EarlyWarning:
    item: str
    name: str
    level: str
    reason: str
    status: str
    comment: str | None
    body: str


def early_warnings_by_body(
    plan: GoalPlan, period: str, *, session: Session, organisation: str, mode: Mode
) -> dict[str, list[EarlyWarning]]:
    """The period's early warnings, per body whose plan the item serves."""
    previous = plan.previous_period(period)
    if previous is None:
        return {}
    now = period_statuses(session=session, organisation=organisation, year=plan.year, mode=mode, period=period)
    before = period_statuses(session=session, organisation=organisation, year=plan.year, mode=mode, period=previous)
    bodies = set(session.exec(select(Unit.key).where(Unit.organisation == organisation, Unit.is_body)).all())
    body_of: dict[str, str | None] = {}
    for key in plan.top_down:
        item = plan.items[key]
        inherited = body_of.get(item.parent) if item.parent is not None else None
        body_of[key] = item.owner if item.owner in bodies else inherited
    result: dict[str, list[EarlyWarning]] = {}
    for key in plan.reported:
        entry = now.get(key)
        status = entry.status if entry is not None else NOT_REPORTED
        was = before[key].status if key in before else NOT_REPORTED
        reason = None
        if status in RED and was not in RED:
            reason = "turned_red"
        elif status == "gul" and was == "gul":
            reason = "yellow_twice"
        body = body_of[key]
        if reason is None or body is None or entry is None:
            continue
        item = plan.items[key]
        result.setdefault(body, []).append(
            EarlyWarning(key, item.name, plan.levels[item.level].name, reason, status, entry.comment, body)
        )
    return result


def warn_early(
    plan: GoalPlan,
    period: str,
    *,
    organisation: str,
    mode: Mode,
    calendar: WorkingCalendar,
    directory: Directory,
    mail_domain: str,
    session: Session,
    now: dt.datetime,
) -> int:
    """Write the mail to each body's official (once per set of items, the newest set
    replacing one not yet due); how many."""
    cycle = session.exec(
        select(Cycle).where(Cycle.organisation == organisation, Cycle.year == plan.year, Cycle.mode == mode)
    ).first()
    if cycle is None:  # no cycle started: the report and the artifact still show them
        return 0
    steps = plan.periods[period].steps
    notices: list[n.Notice] = []
    for body, warnings in early_warnings_by_body(
        plan, period, session=session, organisation=organisation, mode=mode
    ).items():
        step = session.exec(
            select(StepInstance).where(
                StepInstance.cycle_id == cycle.id, StepInstance.unit == body, col(StepInstance.step).in_(steps)
            )
        ).first()
        if step is None or step.owner is None:
            continue
        digest = hashlib.sha256(",".join(sorted(w.item for w in warnings)).encode()).hexdigest()[:12]
        # A unit saving its items one by one grows the set several times a day: the mail
        # goes out the next morning, and the newest set replaces the ones not yet due, so
        # the official gets one mail with all of them.
        session.exec(
            delete(OutboxMessage).where(
                col(OutboxMessage.instance_id) == step.id,
                col(OutboxMessage.kind) == EARLY_WARNING,
                col(OutboxMessage.recipient_key) == step.owner,
                col(OutboxMessage.stage).startswith(f"{period}-"),
                col(OutboxMessage.stage) != f"{period}-{digest}",
                col(OutboxMessage.state) == OutboxState.pending.value,
                col(OutboxMessage.next_attempt_at) > now,
            )
        )
        context = {
            "period": plan.periods[period].name,
            "warnings": [
                {
                    "name": w.name,
                    "level": w.level,
                    "reason": REASONS[w.reason],
                    "status": status_label(w.status),
                    "comment": w.comment or "",
                }
                for w in warnings
            ],
        }
        notices += n.addressed(
            EARLY_WARNING,
            f"{period}-{digest}",
            step.owner,
            directory=directory,
            day=calendar.local_date(now),
            send_at=n.next_morning(now, calendar),
            instance_id=step.id,
            cycle_id=cycle.id,
            context=context,
        )
    n.enqueue(notices, session=session, directory=directory, now=now, mail_domain=mail_domain, mode=mode)
    return len(notices)
