"""A need that arises during the year: a step added to a running cycle.

The step is written as a template (owner role, deciding body or role, opening and
deadline rules, dependencies) for one or more units, and goes through the same schema,
the same reference checks and the same planner as the templates of arshjul.yaml, against
the organisation's own files. Its instances are stored like any other (a run each, mail,
audit), audited as `step.added` with the template they came from."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from models.cycles import instance_row
from models.definition import Definition, DefinitionError
from models.planned import PlannedStep, PlanningError
from models.planning import plan_cycle
from models.references import template_issues
from models.schema import ArshjulFile, StepTemplate
from models.source import Issue
from models.steps import Context, StepActionError, audit_change, snapshot
from models.swedish import describe_error
from models.tables import Cycle, StepDependency, StepInstance, stored_id

SOURCE = "steps add"


def _issues_of_new(issues: list[Issue], index: int, key: str) -> list[Issue]:
    """The problems of the added template, told as problems of the command's options."""
    prefix, own = f"steps[{index}]", []
    for issue in issues:
        if issue.field == prefix or issue.field.startswith(prefix + ".") or f"[{key}]" in issue.message:
            field = issue.field[len(prefix) + 1 :] if issue.field.startswith(prefix + ".") else ""
            own.append(Issue(SOURCE, None, field, issue.message.replace(f"[{key}] ", "")))
        else:
            own.append(issue)
    return own


def plan_added_step(definition: Definition, year: int, data: dict[str, Any]) -> tuple[StepTemplate, list[PlannedStep]]:
    """The added template and its instances in cycle `year`, or DefinitionError listing
    every problem (schema, references, the rules for that year)."""
    try:
        template = StepTemplate.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(
            [
                Issue(SOURCE, None, ".".join(str(p) for p in error["loc"] if "[" not in str(p)), describe_error(error))
                for error in exc.errors(include_url=False)
            ]
        ) from None
    if template.key in definition.templates:
        raise DefinitionError([Issue(SOURCE, None, "key", f"stegmallen '{template.key}' finns redan i arshjul.yaml")])
    arshjul = ArshjulFile(processes=definition.arshjul.processes, steps=[*definition.arshjul.steps, template])
    extended = dataclasses.replace(definition, arshjul=arshjul)
    for cached in ("templates", "template_positions"):
        extended.__dict__.pop(cached, None)
    index = len(arshjul.steps) - 1
    issues = template_issues(extended)
    if issues:
        raise DefinitionError(_issues_of_new(issues, index, template.key))
    try:
        steps = plan_cycle(extended, year)
    except PlanningError as exc:
        raise DefinitionError(_issues_of_new(exc.issues, index, template.key)) from None
    return template, [step for step in steps if step.step == template.key]


def store_added_step(
    definition: Definition,
    cycle: Cycle,
    template: StepTemplate,
    instances: list[PlannedStep],
    *,
    owner: str | None,
    actor: str,
    role: str,
    reason: str,
    session: Session,
    ctx: Context,
    now: dt.datetime,
    source: str = "cli",
    origin: dict | None = None,
) -> list[StepInstance]:
    """Store the added instances with their dependencies, audited; their runs are made by
    the caller (tasks.flow_runs.create_step_runs), which opens them on their day."""
    cycle_id = stored_id(cycle)
    keys = [step.key for step in instances]
    existing = session.exec(
        select(StepInstance.key).where(StepInstance.cycle_id == cycle_id, col(StepInstance.key).in_(keys))
    ).all()
    if existing:
        raise StepActionError(f"steget finns redan i cykel {cycle.year}: {', '.join(existing)}")
    needed = {key for step in instances for key in step.depends_on}
    found = {
        row.key: stored_id(row)
        for row in session.exec(
            select(StepInstance).where(StepInstance.cycle_id == cycle_id, col(StepInstance.key).in_(needed))
        )
    }
    missing = sorted(needed - set(found))
    if missing:
        raise StepActionError(
            f"stegen som det nya steget beror på finns inte i cykel {cycle.year}: {', '.join(missing)}"
        )
    rows = []
    for step in instances:
        row = instance_row(step, definition, cycle_id, now)
        if owner is not None:
            if owner == row.decider:
                raise StepActionError(f"{ctx.directory.name(owner)} beslutar steget och kan inte också äga det")
            row.owner = owner
        if row.owner is None or row.owner not in ctx.directory:
            raise StepActionError(f"ägaren '{row.owner}' finns inte bland organisationens personer")
        session.add(row)
        rows.append(row)
    session.flush()
    for step, row in zip(instances, rows, strict=True):
        for dependency in step.depends_on:
            session.add(StepDependency(instance_id=stored_id(row), depends_on_id=found[dependency]))
        audit_change(
            row,
            "step.added",
            session=session,
            now=now,
            actor=actor,
            actor_role=role,
            source=source,
            before=None,
            after=snapshot(row)
            | {
                "key": row.key,
                "owner": row.owner,
                "opens": row.opens.isoformat(),
                "template": template.model_dump(mode="json", by_alias=True, exclude_none=True),
            },
            comment=reason,
            origin=origin,
        )
    session.flush()
    return rows


def template_data(
    *,
    key: str,
    name: str,
    kind: str,
    process: str,
    units: list[str],
    definition: Definition,
    owner_role: str,
    decided_by: str | None,
    opens: dict | str,
    due: dict | str,
    depends_on: list[str],
    reminders: list[int],
    description: str | None,
    year: int,
) -> dict[str, Any]:
    """The template the options of `steps add` describe (its level from the units)."""
    org = definition.organisation
    unknown = [unit for unit in units if unit not in org.units and unit not in org.bodies]
    if unknown:
        raise DefinitionError([Issue(SOURCE, None, "unit", f"okänd enhet eller okänt organ '{u}'") for u in unknown])
    bodies = [unit for unit in units if unit in org.bodies]
    plain = [unit for unit in units if unit in org.units]
    levels = list(dict.fromkeys(org.target(unit).level for unit in units))
    data: dict[str, Any] = {
        "key": key,
        "name": name,
        "kind": kind,
        "process": process,
        "level": levels,
        "applies_to": ({"units": plain} if plain else {}) | ({"bodies": bodies} if bodies else {}),
        "owner_role": owner_role,
        "opens": _rule(opens, year),
        "due": _rule(due, year),
        "depends_on": depends_on,
        "reminders": reminders,
    }
    if decided_by:
        data["decided_by"] = decided_by
    if description:
        data["description"] = description
    return data


def _rule(value: dict | str, year: int) -> dict | str:
    """A date given as YYYY-MM-DD becomes a date rule of the plan year (Y-1-…, Y+1-…)."""
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return value  # the schema explains what a rule looks like
        offset = day.year - year
        prefix = "Y" if offset == 0 else f"Y{offset:+d}"
        return {"date": f"{prefix}-{day.month:02d}-{day.day:02d}"}
    return value
