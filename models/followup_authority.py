"""Who may report which goals, from the command line (`arshjul followup import`) or a
step's page: the owner of the follow-up step that covers an item (or their stand-in), or
a holder of the organisation's `change_plan` role (the regionstab importing the region's
own tool's export). Nobody changes what a submitted or decided follow-up step reported —
a higher level's step covers its units' items too: the decider is looking at it, or has
decided on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session, col, select

from models.followup import Analysis, Reported, items_covered, record_report, units_of_steps
from models.goals import GoalPlan
from models.organisation import Organisation
from models.people import Directory
from models.permissions import may_submit
from models.plan_authority import plan_role
from models.tables import Cycle, Mode, StepInstance, StepState, stored_id

FROZEN = {StepState.submitted, StepState.approved}
MAX_LISTED = 20


class Reporter(Protocol):
    """Who reports: a person of the organisation (its data, or the directory's member)."""

    @property
    def key(self) -> str: ...

    @property
    def name(self) -> str: ...


def import_refusals(
    plan: GoalPlan,
    period: str,
    items: list[str],
    person: Reporter,
    *,
    org: Organisation,
    directory: Directory,
    mode: Mode,
    session: Session,
    analyses: Sequence[str] = (),
) -> list[str]:
    """Why `person` may not report `items` for `period`, nor the analyses of the units
    `analyses` (Swedish, one line per unit and reason); empty when they may. A unit's
    analysis is covered, like its items, by its own step and every step above it."""
    cycle = session.exec(
        select(Cycle).where(Cycle.organisation == org.info.key, Cycle.year == plan.year, Cycle.mode == mode)
    ).first()
    steps = (
        list(
            session.exec(
                select(StepInstance).where(
                    StepInstance.cycle_id == cycle.id, col(StepInstance.step).in_(plan.periods[period].steps)
                )
            )
        )
        if cycle is not None
        else []
    )
    steps = [step for step in steps if StepState(step.state) is not StepState.cancelled]
    analysed = units_of_steps(steps, session=session, organisation=org.info.key)
    covering: dict[str, list[StepInstance]] = {}
    for step in steps:
        for key in items_covered(plan, analysed[stored_id(step)]):
            covering.setdefault(key, []).append(step)
    wanted = [(plan.items[key].owner, covering.get(key, [])) for key in items] + [
        (unit, [step for step in steps if unit in analysed[stored_id(step)]]) for unit in analyses
    ]
    problems: dict[str, str] = {}
    for unit, covered_by in wanted:
        frozen = [s for s in covered_by if StepState(s.state) in FROZEN]
        if frozen:
            step = frozen[0]
            state = "inlämnad" if StepState(step.state) is StepState.submitted else "beslutad"
            problems.setdefault(
                f"frozen:{step.id}",
                f"'{step.name}' för {step.unit_name} är redan {state}: dess mål och analyser kan inte ändras "
                "(en återremiss öppnar steget igen)",
            )
            continue
        if plan_role(org, person.key, unit if unit in org.units or unit in org.bodies else None) is not None:
            continue
        if any(may_submit(step, person.key, directory) for step in covered_by):
            continue
        unopened = [
            s
            for s in covered_by
            if StepState(s.state) is StepState.planned and s.owner and directory.may_act_for(person.key, s.owner)
        ]
        if unopened:
            step = unopened[0]
            problems.setdefault(
                f"planned:{step.id}",
                f"'{step.name}' för {step.unit_name} har inte öppnat än (öppnar {step.opens.isoformat()})",
            )
            continue
        owners = sorted({directory.name(s.owner) for s in covered_by if s.owner})
        who = f" (det gör {', '.join(owners)})" if owners else ""
        name = org.target(unit).name if unit in org.units or unit in org.bodies else unit
        problems.setdefault(f"unit:{unit}", f"{person.name} får inte rapportera målen för {name}{who}")
    lines = list(problems.values())
    if len(lines) > MAX_LISTED:
        lines = [*lines[:MAX_LISTED], f"… och {len(lines) - MAX_LISTED} till"]
    return lines


@dataclass(frozen=True)
class Verdict:
    refusals: list[str]  # empty: stored
    changed: int = 0  # items and analyses that changed


def report_if_allowed(
    plan: GoalPlan,
    period: str,
    reported: list[Reported],
    analyses: list[Analysis],
    person: Reporter,
    *,
    org: Organisation,
    directory: Directory,
    mode: Mode,
    source: str,
    origin: dict,
    session: Session,
    now: dt.datetime,
) -> Verdict:
    """Store what `person` reported, audited, if `import_refusals` allows all of it, in the
    caller's transaction; otherwise store nothing and say why. The one way the import and
    a step's page store a report."""
    refusals = import_refusals(
        plan,
        period,
        [entry.item for entry in reported],
        person,
        org=org,
        directory=directory,
        mode=mode,
        session=session,
        analyses=[analysis.target for analysis in analyses],
    )
    if refusals:
        return Verdict(refusals)
    changed = record_report(
        plan,
        period,
        reported,
        analyses,
        organisation=org.info.key,
        mode=mode,
        actor=person.key,
        source=source,
        session=session,
        now=now,
        origin=origin,
    )
    return Verdict([], changed)
