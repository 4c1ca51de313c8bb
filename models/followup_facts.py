"""What a follow-up report of one period is about, read from the app database: the
cycle's stored goal structure (else the folder's), this period's and the previous
period's statuses, the analyses, and their roll-up."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from models.followup import Reported, period_analyses, period_statuses, stored_plan
from models.goals import GoalPlan
from models.organisation import Organisation
from models.rollup import RollUp, roll_up
from models.tables import Mode


@dataclass(frozen=True)
class ReportFacts:
    plan: GoalPlan
    result: RollUp
    statuses: dict[str, Reported]
    analyses: dict[str, str]


def report_facts(
    folder_plan: GoalPlan | None,
    organisation: Organisation,
    *,
    year: int,
    period: str,
    scope: str | None,
    mode: Mode,
    session: Session,
) -> ReportFacts | None:
    """None when the cycle has no goal structure at all."""
    key = organisation.info.key
    plan = stored_plan(session=session, organisation=key, year=year, mode=mode) or folder_plan
    if plan is None or period not in plan.periods:
        return None

    def statuses_of(which: str) -> dict[str, Reported]:
        return period_statuses(session=session, organisation=key, year=year, mode=mode, period=which)

    statuses = statuses_of(period)
    previous_key = plan.previous_period(period)
    previous = statuses_of(previous_key) if previous_key is not None else None
    analyses = period_analyses(session=session, organisation=key, year=year, mode=mode, period=period)
    if scope is not None:
        owners = set(organisation.subtree(scope)) if scope in organisation.units else {scope}
        if scope in organisation.bodies:  # and the units that report activities to its plan
            owners |= {plan.items[key].owner for key in plan.in_scope(scope, organisation)}
        analyses = {target: text for target, text in analyses.items() if target in owners}
    result = roll_up(plan, organisation, statuses, period=period, previous=previous, scope=scope)
    return ReportFacts(plan, result, statuses, analyses)
