"""A planned cycle: its step instances, fully resolved (what `models.planning` produces),
and narrowing a plan to a unit, a role or a person."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from models.organisation import Organisation
from models.schema import StepTemplate
from models.source import Issue
from models.swedish import period_label


class PlanningError(Exception):
    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


class MissingMeetings(PlanningError):
    """The cycle needs meetings files the folder does not have: one located issue per
    missing file (however many rules need it), naming the first rule that needs it."""

    def __init__(self, year: int, needed_by: dict[int, list[Issue]], file_name):
        self.year = year
        self.years = sorted(needed_by)
        issues = []
        for missing in self.years:
            first, others = needed_by[missing][0], len(needed_by[missing]) - 1
            where = f"{first.file}:{first.line}" if first.line else first.file
            more = f" och {others} {'regel' if others == 1 else 'regler'} till" if others else ""
            issues.append(
                Issue(
                    file_name(missing),
                    None,
                    "",
                    f"filen saknas: cykel {year} behöver sammanträdesplanen för {missing} "
                    f"(regeln {first.field} på {where}{more})",
                )
            )
        super().__init__(issues)


@dataclass(frozen=True)
class Escalation:
    after: int  # working days overdue
    on: dt.date
    alert: str  # role key or OWNER_MANAGER
    person: str | None


@dataclass
class PlannedStep:
    """One step instance of a cycle, fully resolved."""

    year: int
    key: str  # unique within the cycle: "<step>[@<period>]:<target>"
    step: str
    period: str | None
    name: str
    kind: str
    process: str
    level: str
    unit: str
    unit_name: str
    owner_role: str
    owner: str | None
    decided_by: str | None
    decided_by_kind: str | None  # "body" or "role"
    decider: str | None  # the person who records the decision: the body's secretary or the role holder
    meeting: dt.date | None
    opens: dt.date
    due: dt.date
    nominal_due: dt.date | None
    depends_on: list[str] = field(default_factory=list)
    reminders: list[dt.date] = field(default_factory=list)
    escalation: list[Escalation] = field(default_factory=list)
    description: str | None = None
    reference: str | None = None
    tentative: bool = False  # rests on a meeting plan not yet decided (a standing rule's dates)

    @property
    def uid(self) -> str:
        """Stable across runs and machines: the same instance always has the same UID."""
        return f"{self.year}.{self.key.replace(':', '.').replace('@', '.')}"


# The fields a stored step instance keeps exactly as planned (the same name and value in
# models.tables.StepInstance); the rest are stored in another form or not at all.
STORED_AS_PLANNED = (
    "key",
    "step",
    "period",
    "name",
    "kind",
    "process",
    "level",
    "unit",
    "unit_name",
    "owner_role",
    "owner",
    "decided_by",
    "decided_by_kind",
    "decider",
    "meeting",
    "opens",
    "due",
    "nominal_due",
)


def instance_name(template: StepTemplate, period: str | None) -> str:
    if period is None:
        return template.name
    label = period_label(period)
    if "{period}" in template.name:
        return template.name.replace("{period}", label)
    return f"{template.name} – {label}"


def filter_steps(
    steps: list[PlannedStep],
    org: Organisation,
    *,
    unit: str | None = None,
    role: str | None = None,
    person: str | None = None,
) -> list[PlannedStep]:
    """Narrow a plan: to a unit and everything under it (or to one body), to steps a
    role owns or decides, or to steps a person owns or decides."""
    if unit is not None:
        inside = {unit} if unit in org.bodies else set(org.subtree(unit))
        steps = [s for s in steps if s.unit in inside]
    if role is not None:
        steps = [s for s in steps if s.owner_role == role or (s.decided_by_kind == "role" and s.decided_by == role)]
    if person is not None:
        steps = [s for s in steps if person in (s.owner, s.decider)]
    return steps
