"""A follow-up step's report on its run in the Prefect UI: the figures as a table
artifact and the summary as markdown, for the step's unit (or body) and period."""

from __future__ import annotations

import re

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from sqlmodel import Session

from arshjul.core import clock, runtime
from arshjul.views.followup_markdown import figures_table, summary_markdown
from arshjul.views.followup_report import report_data
from models.followup import stored_plan
from models.followup_facts import report_facts
from models.tables import Cycle, Mode, StepInstance


def _key(cycle: Cycle, period: str, unit: str) -> str:
    mode = "" if cycle.mode == Mode.live else "simulering-"
    return re.sub(r"[^a-z0-9-]", "-", f"arshjul-{mode}{cycle.year}-uppfoljning-{period}-{unit}".lower())


@task(name="publicera uppföljningen")
def publish_followup(instance_id: int) -> bool:
    """Publish the report of the step's period; False when the step follows up no goals."""
    definition = runtime.definition()
    organisation = definition.organisation
    with Session(runtime.engine()) as session:
        step = session.get(StepInstance, instance_id)
        cycle = session.get(Cycle, step.cycle_id) if step is not None else None
        if step is None or cycle is None:
            return False
        plan = stored_plan(session=session, organisation=cycle.organisation, year=cycle.year, mode=cycle.mode)
        period = plan.period_of_step(step.step) if plan is not None else None
        if period is None:
            return False
        scope = None if step.unit == organisation.root else step.unit
        facts = report_facts(
            plan, organisation, year=cycle.year, period=period.key, scope=scope, mode=cycle.mode, session=session
        )
    if facts is None:
        return False
    data = report_data(
        facts.plan,
        organisation,
        definition.templates,
        facts.result,
        facts.statuses,
        facts.analyses,
        scope=scope,
        generated=clock.now(),
    )
    what = f"Uppföljning {period.name} {cycle.year} · {step.unit_name}"
    create_table_artifact(
        key=_key(cycle, period.key, step.unit) + "-siffror", table=figures_table(data), description=what
    )
    create_markdown_artifact(key=_key(cycle, period.key, step.unit), markdown=summary_markdown(data), description=what)
    return True
