"""Storing a cycle: the organisation snapshot and one row per planned step instance.

`store_cycle` is idempotent: instances are keyed by (cycle, instance key), so running it
again for the same year adds only what the definition gained since, and changes nothing
that exists (a moved deadline goes through `move_deadline`, audited, not a silent rewrite).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import and_, func, not_, or_, text
from sqlmodel import Session, col, select

from models.audit import append_audit, lock_audit_log
from models.definition import Definition
from models.followup import store_plan
from models.planned import STORED_AS_PLANNED, PlannedStep
from models.planning import plan_cycle
from models.tables import (
    Absence,
    AuditEntry,
    Cycle,
    Mode,
    Person,
    PersonBase,
    StepDependency,
    StepInstance,
    StepState,
    Unit,
    UnitBase,
    stored_id,
)


def definition_digest(definition: Definition) -> str:
    digest = hashlib.sha256()
    for name in sorted(definition.documents):
        digest.update(name.encode())
        digest.update(definition.documents[name].path.read_bytes())
    return digest.hexdigest()


def sync_organisation(definition: Definition, *, session: Session) -> None:
    """Refresh the organisation snapshot (units, bodies, people, absences from YAML)."""
    org = definition.organisation
    key = org.info.key
    units = {u.key: u for u in session.exec(select(Unit).where(Unit.organisation == key))}
    wanted = [
        UnitBase(
            organisation=key,
            key=u.key,
            name=u.name,
            level=u.level,
            parent_key=u.parent,
            manager_key=u.manager,
            is_body=False,
        )
        for u in org.source.units
    ] + [
        UnitBase(
            organisation=key,
            key=b.key,
            name=b.name,
            level=b.level,
            parent_key=b.parent,
            manager_key=b.secretary,
            is_body=True,
        )
        for b in org.source.bodies
    ]
    for values in wanted:
        unit = units.get(values.key) or Unit(organisation=key, key=values.key, name=values.name, level=values.level)
        unit.sqlmodel_update(values)
        session.add(unit)
    people = {p.key: p for p in session.exec(select(Person).where(Person.organisation == key))}
    for source in org.source.people:
        person_values = PersonBase(
            organisation=key,
            key=source.key,
            name=source.name,
            email=source.email.lower(),
            title=source.title,
            reports_to=source.reports_to,
            standin=source.standin,
            digest=source.digest,
        )
        person = people.get(source.key) or Person(
            organisation=key, key=source.key, name=source.name, email=person_values.email
        )
        person.sqlmodel_update(person_values)
        session.add(person)
    # Absences from YAML are replaced wholesale; those entered with the CLI are kept.
    for absence in session.exec(select(Absence).where(Absence.organisation == key, Absence.source == "yaml")):
        session.delete(absence)
    for source in org.source.people:
        for period in source.absent:
            absence = Absence(
                organisation=key,
                person_key=source.key,
                start=period.start,
                end=period.end,
                note=period.note,
                source="yaml",
            )
            session.add(absence)
    session.flush()


def instance_row(step: PlannedStep, definition: Definition, cycle_id: int, now: dt.datetime) -> StepInstance:
    calendar = definition.organisation.calendar
    return StepInstance(
        cycle_id=cycle_id,
        **{name: getattr(step, name) for name in STORED_AS_PLANNED},
        opens_at=calendar.at_start_of_day(step.opens).in_timezone("UTC"),
        reminders=[day.isoformat() for day in step.reminders],
        escalation=[
            {"after": e.after, "on": e.on.isoformat(), "alert": e.alert, "person": e.person} for e in step.escalation
        ],
        description=step.description,
        uid=f"{step.uid}@{definition.organisation.info.key}",
        state=StepState.planned,
        updated_at=now,
    )


@dataclass
class StoredCycle:
    cycle: Cycle
    created: list[StepInstance]
    existing: int


def store_cycle(
    definition: Definition,
    year: int,
    *,
    session: Session,
    now: dt.datetime,
    mode: Mode = Mode.live,
    actor: str = "system",
    source: str = "cli",
) -> StoredCycle:
    """Create (or complete) the cycle's rows; raise PlanningError if it cannot be planned.
    `Mode.simulation` keeps `arshjul simulate`'s cycle apart from the live one."""
    steps = plan_cycle(definition, year)  # before any write: a bad definition writes nothing
    org_key = definition.organisation.info.key
    if session.get_bind().dialect.name == "postgresql":
        # Two starts of the same cycle queue here; the second finds the first one's rows.
        lock = text("SELECT pg_advisory_xact_lock(hashtext(:name))").bindparams(
            name=f"arshjul.cycle.{org_key}.{year}.{mode}"
        )
        session.connection().execute(lock)
    sync_organisation(definition, session=session)
    if year in definition.goals:  # the follow-up reads the cycle's goal structure from here
        store_plan(definition.goals[year], organisation=org_key, mode=mode, session=session, now=now)
    cycle = session.exec(
        select(Cycle).where(Cycle.organisation == org_key, Cycle.year == year, Cycle.mode == mode)
    ).first()
    if cycle is None:
        cycle = Cycle(
            organisation=org_key, year=year, mode=mode, definition_digest=definition_digest(definition), created_at=now
        )
        session.add(cycle)
        session.flush()
    cycle_id = stored_id(cycle)
    existing = {row.key: row for row in session.exec(select(StepInstance).where(StepInstance.cycle_id == cycle_id))}
    created: list[StepInstance] = []
    for step in steps:
        if step.key not in existing:
            row = instance_row(step, definition, cycle_id, now)
            session.add(row)
            created.append(row)
    session.flush()
    if created:
        ids = {row.key: stored_id(row) for row in [*existing.values(), *created]}
        new_keys = {row.key for row in created}
        for step in steps:
            if step.key in new_keys:
                for dependency in step.depends_on:
                    session.add(StepDependency(instance_id=ids[step.key], depends_on_id=ids[dependency]))
        append_audit(
            session=session,
            at=now,
            actor=actor,
            action="cycle.started" if not existing else "cycle.extended",
            source=source,
            cycle_id=cycle.id,
            after={
                "year": year,
                "mode": mode,
                "organisation": org_key,
                "instances_created": len(created),
                "definition_digest": definition_digest(definition),
            },
        )
        session.flush()
    return StoredCycle(cycle=cycle, created=created, existing=len(existing))


def close_cycle_if_done(cycle_id: int, *, session: Session, now: dt.datetime) -> bool:
    """Record `cycle.closed` once, when every step of the cycle is done. Returns whether it
    closed now. While a step is not done (nearly always) one indexed query says so,
    without the audit chain's lock: every finished step asks, and holding the lock to
    read a cycle's thousands of steps queued every other action behind it. Only a cycle
    that looks done takes the lock, so two last steps finished at the same moment close
    the cycle once, and asks again under it."""
    if _open_step_exists(cycle_id, session=session):
        return False
    lock_audit_log(session=session)
    closed = session.exec(
        select(AuditEntry.id).where(AuditEntry.cycle_id == cycle_id, AuditEntry.action == "cycle.closed").limit(1)
    ).first()
    if closed is not None or _open_step_exists(cycle_id, session=session):
        return False
    steps = session.exec(select(func.count()).select_from(StepInstance).where(StepInstance.cycle_id == cycle_id)).one()
    if not steps:
        return False
    append_audit(
        session=session,
        at=now,
        actor="system",
        action="cycle.closed",
        source="system",
        cycle_id=cycle_id,
        after={"steps": steps},
    )
    return True


def _open_step_exists(cycle_id: int, *, session: Session) -> bool:
    """Whether a step of the cycle is not done (models.states.is_done, as SQL)."""
    state, decided_by = col(StepInstance.state), col(StepInstance.decided_by)
    done = or_(
        state.in_([StepState.approved.value, StepState.cancelled.value]),
        and_(state == StepState.submitted.value, decided_by.is_(None)),
    )
    query = select(StepInstance.id).where(StepInstance.cycle_id == cycle_id, not_(done)).limit(1)
    return session.exec(query).first() is not None
