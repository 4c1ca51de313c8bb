"""Read-only queries: which cycle is meant, which steps a listing shows, what a digest
lists, what the outbox holds. Nothing here writes; every function takes the session as a
keyword and returns rows (the callers word them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy
from sqlmodel import Session, col, select

from models.states import is_overdue
from models.tables import AuditEntry, Cycle, LinkHolder, Mode, OutboxMessage, OutboxState, StepInstance, StepState
from models.workdays import WorkingCalendar

# Working days ahead that a digest lists as coming (and that make a person's planned
# steps worth a digest at all).
DIGEST_HORIZON = 20

_OWNER_WAITS = (StepState.open.value, StepState.returned.value)


def find_cycle(*, session: Session, organisation: str, year: int, mode: Mode) -> Cycle | None:
    return session.exec(
        select(Cycle).where(Cycle.organisation == organisation, Cycle.year == year, Cycle.mode == mode)
    ).first()


def live_cycles(*, session: Session, organisation: str) -> list[Cycle]:
    return list(session.exec(select(Cycle).where(Cycle.mode == Mode.live, Cycle.organisation == organisation)))


def cycle_steps(*, session: Session, cycle_id: int) -> list[StepInstance]:
    return list(session.exec(select(StepInstance).where(StepInstance.cycle_id == cycle_id)))


def steps_matching(
    *,
    session: Session,
    mode: Mode,
    year: int | None = None,
    state: StepState | None = None,
    unit: str | None = None,
    role: str | None = None,
    overdue_on: dt.date | None = None,
) -> list[tuple[StepInstance, Cycle]]:
    """Steps with their cycle, by deadline: `steps list`'s filters (overdue: past the
    deadline on `overdue_on` and not submitted)."""
    query = select(StepInstance, Cycle).join(Cycle, col(Cycle.id) == StepInstance.cycle_id).where(Cycle.mode == mode)
    if year is not None:
        query = query.where(Cycle.year == year)
    if state is not None:
        query = query.where(StepInstance.state == state.value)
    if unit is not None:
        query = query.where(StepInstance.unit == unit)
    if role is not None:
        query = query.where(StepInstance.owner_role == role)
    rows = [
        (step, cycle) for step, cycle in session.exec(query.order_by(col(StepInstance.due), col(StepInstance.name)))
    ]
    if overdue_on is not None:
        rows = [(step, cycle) for step, cycle in rows if is_overdue(StepState(step.state), step.due, overdue_on)]
    return rows


def template_instances(*, session: Session, cycle_id: int, step: str) -> list[StepInstance]:
    """Every instance of one step template in a cycle."""
    return list(session.exec(select(StepInstance).where(StepInstance.cycle_id == cycle_id, StepInstance.step == step)))


def step_history(*, session: Session, instance_id: int) -> list[AuditEntry]:
    return list(
        session.exec(select(AuditEntry).where(AuditEntry.instance_id == instance_id).order_by(col(AuditEntry.id)))
    )


STATE_CHANGES = ("step.opened", "step.submitted", "step.approved", "step.returned")


def latest_change(*, session: Session, instance_id: int) -> AuditEntry | None:
    """The step's newest change of state (who moved it on, and when)."""
    return session.exec(
        select(AuditEntry)
        .where(AuditEntry.instance_id == instance_id, col(AuditEntry.action).in_(STATE_CHANGES))
        .order_by(col(AuditEntry.id).desc())
        .limit(1)
    ).first()


def last_refusal(*, session: Session, instance_id: int) -> str | None:
    """Why the step's last input was refused, if its newest entry about the step (not
    about someone opening a link to it) is that refusal."""
    last = session.exec(
        select(AuditEntry)
        .where(AuditEntry.instance_id == instance_id, col(AuditEntry.action).startswith("step."))
        .order_by(col(AuditEntry.id).desc())
        .limit(1)
    ).first()
    return last.comment if last and last.action == "step.input_rejected" else None


def waiting_steps_with_runs(*, session: Session, cycle_id: int) -> list[StepInstance]:
    """Steps of a cycle that wait for their owner and have a run (which may be waiting
    for dependencies)."""
    return list(
        session.exec(
            select(StepInstance).where(
                StepInstance.cycle_id == cycle_id,
                col(StepInstance.state).in_(_OWNER_WAITS),
                col(StepInstance.flow_run_id).is_not(None),
            )
        )
    )


def link_generations(*, session: Session, organisation: str, people=None) -> dict[str, int]:
    """Each person's link generation (0 for whoever never revoked their links)."""
    query = select(LinkHolder.person_key, LinkHolder.generation).where(LinkHolder.organisation == organisation)
    if people is not None:
        query = query.where(col(LinkHolder.person_key).in_(list(people)))
    return {key: generation for key, generation in session.exec(query)}


def last_activity(*, session: Session, cycle_id: int) -> dt.datetime | None:
    """The moment of the cycle's newest audit entry: where a simulation's clock stands."""
    from sqlmodel import func

    return session.exec(select(func.max(AuditEntry.at)).where(AuditEntry.cycle_id == cycle_id)).one()


# -- digests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestSteps:
    """What a digest lists for one person, each by date."""

    open: list[StepInstance]  # the person's open or returned steps, by deadline
    coming: list[StepInstance]  # the person's steps opening within the horizon, by opening
    to_decide: list[StepInstance]  # submissions waiting for the person's decision, by deadline

    @property
    def all(self) -> list[StepInstance]:
        return [*self.open, *self.coming, *self.to_decide]


def digest_horizon(today: dt.date, calendar: WorkingCalendar) -> dt.date:
    return calendar.add_working_days(today, DIGEST_HORIZON)


def _in_mode(mode: Mode):
    return col(StepInstance.cycle_id).in_(select(Cycle.id).where(Cycle.mode == mode))


@dataclass
class Interest:
    """What a digest would have for one person."""

    steps: int = 0  # open, returned, soon opening or waiting for their decision
    actionable: int = 0  # open, returned or to decide, with its deadline (or meeting) within the horizon


def digest_interest(*, session: Session, today: dt.date, calendar: WorkingCalendar, mode: Mode) -> dict[str, Interest]:
    """Everyone a digest would have something for, with how many steps: owners of open,
    returned or soon opening steps, deciders of submissions."""
    horizon = digest_horizon(today, calendar)
    columns = [col(c) for c in (StepInstance.state, StepInstance.owner, StepInstance.decider, StepInstance.due)]
    query = sqlalchemy.select(*columns, col(StepInstance.meeting)).where(
        _in_mode(mode),
        col(StepInstance.state).in_(
            [s.value for s in (StepState.planned, StepState.open, StepState.returned, StepState.submitted)]
        ),
        # A step opened early is open work whenever it would have opened.
        (col(StepInstance.state) != StepState.planned.value) | (col(StepInstance.opens) <= horizon),
    )
    interested: dict[str, Interest] = {}
    for state, owner, decider, due, meeting in session.execute(query):
        deciding = StepState(state) is StepState.submitted
        person = decider if deciding else owner
        if person:
            interest = interested.setdefault(person, Interest())
            interest.steps += 1
            # Work to do now: a deadline (or the decision's meeting) within the horizon.
            when = (meeting or due) if deciding else due
            interest.actionable += StepState(state) is not StepState.planned and when <= horizon
    return interested


def digest_steps(
    *, session: Session, person: str, today: dt.date, calendar: WorkingCalendar, mode: Mode
) -> DigestSteps:
    horizon = digest_horizon(today, calendar)
    owned = session.exec(
        select(StepInstance).where(
            _in_mode(mode),
            StepInstance.owner == person,
            col(StepInstance.state).in_([StepState.planned.value, *_OWNER_WAITS]),
        )
    ).all()
    deciding = session.exec(
        select(StepInstance).where(
            _in_mode(mode), StepInstance.decider == person, StepInstance.state == StepState.submitted.value
        )
    ).all()
    return DigestSteps(
        open=sorted((s for s in owned if StepState(s.state) is not StepState.planned), key=lambda s: s.due),
        coming=sorted(
            (s for s in owned if StepState(s.state) is StepState.planned and s.opens <= horizon), key=lambda s: s.opens
        ),
        to_decide=sorted(deciding, key=lambda s: s.due),
    )


def last_digests(*, session: Session, mode: Mode, before: dt.datetime) -> dict[str, dt.datetime]:
    """When each person's newest digest before `before` was written."""
    from sqlmodel import func

    query = (
        select(OutboxMessage.recipient_key, func.max(OutboxMessage.created_at))
        .where(OutboxMessage.mode == mode, OutboxMessage.kind == "digest", OutboxMessage.created_at < before)
        .group_by(col(OutboxMessage.recipient_key))
    )
    return {person: _utc(at) for person, at in session.exec(query)}


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def news_since(*, session: Session, mode: Mode, kinds, since: dt.datetime, until: dt.datetime) -> list[OutboxMessage]:
    """Notices of the given kinds written after `since`, up to `until`, to anyone."""
    query = select(OutboxMessage).where(
        OutboxMessage.mode == mode,
        col(OutboxMessage.kind).in_(sorted(kinds)),
        OutboxMessage.created_at > since,
        OutboxMessage.created_at <= until,
    )
    return list(session.exec(query.order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))))


def digest_news(*, session: Session, digest: OutboxMessage) -> list[tuple[str, StepInstance]]:
    """What a digest reports as new: the person's notices (sent or folded) written since
    their previous digest, each kind and step once, in the order they happened."""
    from models.notices import NEWS_KINDS

    created = _utc(digest.created_at)
    previous = last_digests(session=session, mode=digest.mode, before=created).get(digest.recipient_key)
    if previous is None:  # the first digest: the news of the week before it
        previous = created - dt.timedelta(days=8)
    query = (
        select(OutboxMessage.kind, StepInstance)
        .join(StepInstance, col(StepInstance.id) == OutboxMessage.instance_id)
        .where(
            OutboxMessage.mode == digest.mode,
            OutboxMessage.recipient_key == digest.recipient_key,
            col(OutboxMessage.kind).in_(sorted(NEWS_KINDS)),
            OutboxMessage.created_at <= created,
        )
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
    )
    query = query.where(OutboxMessage.created_at > previous)
    found: dict[tuple[str, int | None], StepInstance] = {}
    for kind, step in session.exec(query):
        found.setdefault((kind, step.id), step)
    return [(kind, step) for (kind, _), step in found.items()]


# -- the outbox -----------------------------------------------------------------------------


def outbox_log(
    *, session: Session, mode: Mode, recipient: str | None = None, step: str | None = None, year: int | None = None
) -> list[tuple[OutboxMessage, StepInstance | None, Cycle | None]]:
    """Messages in the order they were written, with the step and cycle they are about.
    `step` is a template key or a step instance id."""
    query = (
        select(OutboxMessage, StepInstance, Cycle)
        .join(StepInstance, col(StepInstance.id) == OutboxMessage.instance_id, isouter=True)
        .join(Cycle, col(Cycle.id) == OutboxMessage.cycle_id, isouter=True)
        .where(OutboxMessage.mode == mode)
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
    )
    if recipient:
        query = query.where(OutboxMessage.recipient == recipient.strip().lower())
    if step:
        query = query.where(StepInstance.id == int(step)) if step.isdigit() else query.where(StepInstance.step == step)
    if year:
        query = query.where(Cycle.year == year)
    return [tuple(row) for row in session.exec(query)]  # type: ignore[misc]


def failed_messages(*, session: Session, mode: Mode | None = None, ids: list[int] | None = None) -> list[OutboxMessage]:
    """Dead letters (of one mode, or all), oldest first."""
    query = select(OutboxMessage).where(OutboxMessage.state == OutboxState.failed.value)
    if mode is not None:
        query = query.where(OutboxMessage.mode == mode)
    if ids:
        query = query.where(col(OutboxMessage.id).in_(ids))
    return list(session.exec(query.order_by(col(OutboxMessage.id))))
