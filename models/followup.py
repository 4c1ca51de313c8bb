"""The follow-up of goals in the app database: each cycle's goal structure, the status of
every item per period, the analyses; the check that a follow-up step is complete.

Writes (`store_plan`, `record_report`) take the session and `now` and audit in the
caller's transaction; reads (`stored_plan`, `period_statuses`, …) only select.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlmodel import Session, select

from models.audit import append_audit
from models.goals import NEEDS_COMMENT, GoalPlan, status_label
from models.queries import find_cycle
from models.tables import Cycle, FollowupAnalysis, GoalPlanRecord, GoalStatus, Mode, StepInstance, Unit, stored_id


@dataclass(frozen=True)
class Reported:
    """One item's status as a person reported it."""

    item: str
    status: str
    comment: str | None = None
    value: float | None = None


@dataclass(frozen=True)
class Analysis:
    target: str  # the unit or body whose report it is
    text: str


def plan_digest(plan: GoalPlan) -> str:
    return hashlib.sha256(json.dumps(plan.to_json(), sort_keys=True).encode()).hexdigest()


def store_plan(plan: GoalPlan, *, organisation: str, mode: Mode, session: Session, now: dt.datetime) -> GoalPlanRecord:
    """Store (or refresh) the cycle's goal structure; unchanged, it is left as it is."""
    record = session.exec(
        select(GoalPlanRecord).where(
            GoalPlanRecord.organisation == organisation, GoalPlanRecord.year == plan.year, GoalPlanRecord.mode == mode
        )
    ).first()
    digest = plan_digest(plan)
    if record is not None and record.digest == digest:
        return record
    if record is None:
        record = GoalPlanRecord(organisation=organisation, year=plan.year, mode=mode, digest=digest, stored_at=now)
    record.digest, record.structure, record.stored_at = digest, plan.to_json(), now
    session.add(record)
    session.flush()
    return record


def stored_plan(*, session: Session, organisation: str, year: int, mode: Mode) -> GoalPlan | None:
    record = session.exec(
        select(GoalPlanRecord).where(
            GoalPlanRecord.organisation == organisation, GoalPlanRecord.year == year, GoalPlanRecord.mode == mode
        )
    ).first()
    return GoalPlan.from_json(record.structure) if record is not None else None


def record_report(
    plan: GoalPlan,
    period: str,
    reported: list[Reported],
    analyses: list[Analysis],
    *,
    organisation: str,
    mode: Mode,
    actor: str,
    source: str,
    session: Session,
    now: dt.datetime,
    origin: dict | None = None,
) -> int:
    """Store the statuses (each item's latest replaces the one before) and analyses of a
    period, with one audit entry saying what changed. Returns how many items changed."""
    for entry in reported:  # the callers checked; this is the last line of defence
        if entry.status in NEEDS_COMMENT and not (entry.comment or "").strip():
            raise ValueError(f"{entry.item}: {status_label(entry.status)} kräver en kommentar")
    existing = {
        row.item_key: row
        for row in period_status_rows(
            session=session, organisation=organisation, year=plan.year, mode=mode, period=period
        )
    }
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for entry in reported:
        row = existing.get(entry.item)
        if row is not None and (row.status, row.comment, row.value) == (entry.status, entry.comment, entry.value):
            continue
        if row is None:
            row = GoalStatus(
                organisation=organisation,
                year=plan.year,
                mode=mode,
                period=period,
                item_key=entry.item,
                status=entry.status,
                reported_by=actor,
                reported_at=now,
                source=source,
            )
        else:
            before[entry.item] = row.status
        row.status, row.comment, row.value = entry.status, entry.comment, entry.value
        row.reported_by, row.reported_at, row.source = actor, now, source
        session.add(row)
        after[entry.item] = entry.status
    stored_analyses = {
        row.target: row
        for row in session.exec(
            select(FollowupAnalysis).where(
                FollowupAnalysis.organisation == organisation,
                FollowupAnalysis.year == plan.year,
                FollowupAnalysis.mode == mode,
                FollowupAnalysis.period == period,
            )
        )
    }
    analysed = []
    for analysis in analyses:
        row_a = stored_analyses.get(analysis.target) or FollowupAnalysis(
            organisation=organisation,
            year=plan.year,
            mode=mode,
            period=period,
            target=analysis.target,
            text=analysis.text,
            reported_by=actor,
            reported_at=now,
            source=source,
        )
        if row_a.id is not None and row_a.text == analysis.text:
            continue
        row_a.text, row_a.reported_by, row_a.reported_at, row_a.source = analysis.text, actor, now, source
        session.add(row_a)
        analysed.append(analysis.target)
    if after or analysed:
        # Tied to its cycle, so the auditors' history of the cycle lists it.
        cycle = find_cycle(session=session, organisation=organisation, year=plan.year, mode=mode)
        append_audit(
            session=session,
            at=now,
            actor=actor,
            action="followup.reported",
            source=source,
            cycle_id=cycle.id if cycle is not None else None,
            before={"period": period, "statuses": before} if before else None,
            after={"year": plan.year, "period": period, "statuses": after, "analyses": analysed},
            origin=origin,
        )
    session.flush()
    return len(after) + len(analysed)


# ---------------------------------------------------------------------------------------
# Reads


def period_status_rows(*, session: Session, organisation: str, year: int, mode: Mode, period: str) -> list[GoalStatus]:
    return list(
        session.exec(
            select(GoalStatus).where(
                GoalStatus.organisation == organisation,
                GoalStatus.year == year,
                GoalStatus.mode == mode,
                GoalStatus.period == period,
            )
        )
    )


def period_statuses(*, session: Session, organisation: str, year: int, mode: Mode, period: str) -> dict[str, Reported]:
    return {
        row.item_key: Reported(row.item_key, row.status, row.comment, row.value)
        for row in period_status_rows(session=session, organisation=organisation, year=year, mode=mode, period=period)
    }


def period_analyses(*, session: Session, organisation: str, year: int, mode: Mode, period: str) -> dict[str, str]:
    rows = session.exec(
        select(FollowupAnalysis).where(
            FollowupAnalysis.organisation == organisation,
            FollowupAnalysis.year == year,
            FollowupAnalysis.mode == mode,
            FollowupAnalysis.period == period,
        )
    )
    return {row.target: row.text for row in rows}


def _unit_rows(*, session: Session, organisation: str) -> list:
    return list(
        session.exec(select(Unit.key, Unit.parent_key, Unit.is_body).where(Unit.organisation == organisation)).all()
    )


def _subtree(target: str, rows: list) -> set[str]:
    """`target` and, for a unit, every unit below it (`rows`: the stored organisation)."""
    bodies = {key for key, _parent, is_body in rows if is_body}
    if target in bodies:
        return {target}
    children: dict[str, list[str]] = {}
    for key, parent, is_body in rows:
        if parent is not None and not is_body:
            children.setdefault(parent, []).append(key)
    found, stack = set(), [target]
    while stack:
        key = stack.pop()
        found.add(key)
        stack.extend(children.get(key, []))
    return found


def items_of_steps(
    plan: GoalPlan, steps: list[StepInstance], *, session: Session, organisation: str
) -> dict[int, list[str]]:
    """For follow-up steps of `plan`: the items each one's unit reports, with the
    organisation read once for all of them."""
    return {
        step_id: items_covered(plan, units)
        for step_id, units in units_of_steps(steps, session=session, organisation=organisation).items()
    }


def items_covered(plan: GoalPlan, units: set[str]) -> list[str]:
    """The reported items that these units own."""
    return [key for key in plan.reported if plan.items[key].owner in units]


def units_of_steps(steps: list[StepInstance], *, session: Session, organisation: str) -> dict[int, set[str]]:
    """For follow-up steps: the units (or the body) whose items and analyses each one's
    report shows — its unit and every unit below it."""
    rows = _unit_rows(session=session, organisation=organisation)
    return {stored_id(step): _subtree(step.unit, rows) for step in steps}


@dataclass(frozen=True)
class StepItems:
    """What a follow-up step reports: its period and the items of its unit."""

    plan: GoalPlan
    period: str
    keys: list[str]
    organisation: str
    year: int
    mode: Mode


def step_items(step: StepInstance, *, session: Session) -> StepItems | None:
    """For a follow-up step: the items its unit reports (its own and its subtree's; a
    body's own). None for a step that follows up no goals."""
    cycle = session.get(Cycle, step.cycle_id)
    if cycle is None:
        return None
    plan = stored_plan(session=session, organisation=cycle.organisation, year=cycle.year, mode=cycle.mode)
    period = plan.period_of_step(step.step) if plan is not None else None
    if plan is None or period is None:
        return None
    keys = items_of_steps(plan, [step], session=session, organisation=cycle.organisation)[stored_id(step)]
    return StepItems(plan, period.key, keys, cycle.organisation, cycle.year, cycle.mode)


def unreported_items(step: StepInstance, *, session: Session) -> tuple[str | None, list[tuple[str, str]]]:
    """For a follow-up step: its period and its items still without a status, as
    (key, name). Other steps: (None, [])."""
    found = step_items(step, session=session)
    if found is None:
        return None, []
    done = period_statuses(
        session=session, organisation=found.organisation, year=found.year, mode=found.mode, period=found.period
    )
    return found.period, [(key, found.plan.items[key].name) for key in found.keys if key not in done]
