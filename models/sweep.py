"""The daily sweep's selection: which reminders, deadline notices, overdue notices,
escalations and digests are due on a working day.

Only steps waiting for their owner (open or returned) are reminded or escalated; a
submitted step waits for its decider, a done one for nobody. A day the sweep missed is
caught up the next time it runs: the newest passed reminder, the overdue notice and
every escalation stage reached go out then (the outbox keys stop repeats)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from models import notices as n
from models.queries import Interest, digest_interest, last_digests, news_since
from models.states import awaits_owner
from models.steps import Context
from models.tables import Cycle, Mode, StepInstance, StepState

# How far around today a step can be for any notice: reminders reach at most 60 working
# days (about 90 calendar days) before the deadline; escalation ladders are shorter than
# 120 working days after it.
_BEFORE = dt.timedelta(days=100)
_AFTER = dt.timedelta(days=200)


@dataclass
class SweepSelection:
    notices: list[n.Notice] = field(default_factory=list)
    reminded: list[StepInstance] = field(default_factory=list)
    overdue: list[StepInstance] = field(default_factory=list)
    escalated: list[tuple[StepInstance, dict]] = field(default_factory=list)


def candidate_steps(*, session: Session, today: dt.date, mode: Mode = Mode.live) -> list[StepInstance]:
    """Steps waiting for their owner whose deadline is near enough to today for a notice
    (one indexed range query on (state, due))."""
    query = (
        select(StepInstance)
        .join(Cycle, col(Cycle.id) == StepInstance.cycle_id)
        .where(
            col(StepInstance.state).in_([StepState.open.value, StepState.returned.value]),
            StepInstance.due >= today - _AFTER,
            StepInstance.due <= today + _BEFORE,
            Cycle.mode == mode,
        )
    )
    return list(session.exec(query))


def select_due_work(steps: list[StepInstance], today: dt.date, ctx: Context) -> SweepSelection:
    """Pure: from candidate steps, the notices due today (delivered at the start of the day)."""
    selection = SweepSelection()
    calendar = ctx.calendar
    if not calendar.is_working_day(today):
        return selection
    send_at = calendar.at_start_of_day(today).in_timezone("UTC")

    def notify(kind: str, stage: str, principal: str | None, step: StepInstance, context: dict) -> list[n.Notice]:
        if principal is None:
            return []
        found = n.addressed(
            kind,
            stage,
            principal,
            directory=ctx.directory,
            day=today,
            send_at=send_at,
            instance_id=step.id,
            cycle_id=step.cycle_id,
            context=context,
        )
        selection.notices.extend(found)
        return found

    for step in steps:
        if not awaits_owner(step.state):
            continue
        if today <= step.due:
            passed = [day for day in step.reminders if dt.date.fromisoformat(day) <= today]
            if today == step.due:
                notify(n.DUE_TODAY, "due", step.owner, step, {})
            elif passed:
                left = calendar.working_days_after(today, step.due)
                if notify(n.REMINDER, passed[-1], step.owner, step, {"working_days_left": left}):
                    selection.reminded.append(step)
            continue
        late = calendar.working_days_after(step.due, today)
        selection.overdue.append(step)
        notify(n.OVERDUE, "overdue", step.owner, step, {"working_days_late": late})
        for stage in step.escalation:
            if dt.date.fromisoformat(stage["on"]) <= today and stage.get("person"):
                context = {
                    "working_days_late": late,
                    "after": stage["after"],
                    "alert": stage["alert"],
                    "owner": step.owner,
                }
                if notify(n.ESCALATION, f"after-{stage['after']}", stage["person"], step, context):
                    selection.escalated.append((step, stage))
    return selection


def digest_notices(
    *,
    session: Session,
    today: dt.date,
    ctx: Context,
    mode: Mode = Mode.live,
    today_notices: tuple[n.Notice, ...] | list[n.Notice] = (),
) -> list[n.Notice]:
    """The weekly digest (first working day of the ISO week) and the daily digest for
    those who chose it, each only with news: something new since the person's last
    digest (a step opened, a deadline moved, a submission waiting for their decision, a
    step overdue, returned, approved or cancelled; `today_notices` are the sweep's own,
    not yet written). A weekly digest goes out as well when the person has something to
    act on: a step of theirs due, or a decision's meeting, within the digest's horizon
    (20 working days), or overdue. A skipped digest's news is in the next one (it
    reports all since the last)."""
    calendar = ctx.calendar
    if not calendar.is_working_day(today):
        return []
    monday = today - dt.timedelta(days=today.weekday())
    first_working_day_of_week = calendar.roll(monday, "next") == today
    interested = digest_interest(session=session, today=today, calendar=calendar, mode=mode)
    send_at = calendar.at_start_of_day(today).in_timezone("UTC")
    now = clock_of(today, ctx)
    news = _news(session=session, mode=mode, now=now, today_notices=today_notices)
    year, week, _ = today.isocalendar()
    notices = []
    for person in sorted(set(interested) | set(news)):
        if person not in ctx.directory or ctx.directory.is_absent(person, today):
            continue
        interest = interested.get(person, Interest())
        daily = ctx.directory[person].digest == "daily"
        if daily:
            stage = f"daily-{today.isoformat()}"
            worth = news.get(person, 0) > 0
        elif first_working_day_of_week:
            stage = f"weekly-{year}-W{week:02d}"
            worth = news.get(person, 0) > 0 or interest.actionable > 0
        else:
            continue
        if not worth:
            continue
        notices.append(
            n.Notice(
                kind=n.DIGEST,
                stage=stage,
                recipient_key=person,
                send_at=send_at,
                context={"steps": interest.steps, "daily": daily, "day": today.isoformat()},
            )
        )
    return notices


def clock_of(today: dt.date, ctx: Context) -> dt.datetime:
    """The end of `today` in the organisation's zone: news up to the sweep's own."""
    return ctx.calendar.at_start_of_day(today + dt.timedelta(days=1)).in_timezone("UTC")


def _news(*, session: Session, mode: Mode, now: dt.datetime, today_notices) -> dict[str, int]:
    """How many news notices each person has had since their last digest."""
    last = last_digests(session=session, mode=mode, before=now)
    oldest = min(last.values(), default=now - dt.timedelta(days=8))
    oldest = min(oldest, now - dt.timedelta(days=8))
    counts: dict[str, int] = {}
    for row in news_since(session=session, mode=mode, kinds=n.NEWS_KINDS, since=oldest, until=now):
        at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
        if row.recipient_key not in last or at > last[row.recipient_key]:
            counts[row.recipient_key] = counts.get(row.recipient_key, 0) + 1
    for notice in today_notices:
        if notice.kind in n.NEWS_KINDS:
            counts[notice.recipient_key] = counts.get(notice.recipient_key, 0) + 1
    return counts
