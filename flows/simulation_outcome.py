"""How a simulation ends: its summary, and the guard that stops a year that cannot
progress with a Swedish message instead of running the simulated clock on for years."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, select

from arshjul.core import runtime
from models import notices as n
from models.mail_stats import mail_stats, sent_rows
from models.reporting import deliveries
from models.states import state_label, step_is_done
from models.tables import AuditEntry, Mode, OutboxMessage, StepInstance
from models.workdays import WorkingCalendar

# Working days without any step moving, past the cycle's last deadline and meeting,
# after which the year is declared stuck (the longest ladder of escalations and
# returns in the region's data is well inside this).
PATIENCE = 60


@dataclass
class SimulationSummary:
    year: int
    steps_total: int
    flow_runs: int
    executions: int
    completed: int
    completed_late: int
    returned: int
    refused_inputs: int
    reminders: int
    escalations: int
    emails: int
    simulated_days: int
    wall_seconds: float
    mail: dict  # `arshjul mail stats --simulation` of the run (models.mail_stats)


class SimulationStuck(RuntimeError):
    """The year cannot progress; the message (Swedish) names the steps that are stuck."""


class Progress:
    """Watches whether any step moves (state or round) from one working day to the next."""

    def __init__(self, calendar: WorkingCalendar, latest: dt.date, patience: int = PATIENCE):
        self.calendar = calendar
        self.latest = latest
        self.patience = patience
        self.seen: tuple | None = None
        self.still = 0

    def check(self, day: dt.date, steps: list[StepInstance]) -> None:
        now = tuple(sorted((step.id, step.state, step.input_round) for step in steps))
        self.still = self.still + 1 if now == self.seen else 0
        self.seen = now
        if self.still >= self.patience and day > self.latest:
            open_steps = [step for step in steps if not step_is_done(step)]
            listed = "; ".join(f"{s.name} · {s.unit_name} ({state_label(s, day)})" for s in open_steps[:10])
            more = f" och {len(open_steps) - 10} till" if len(open_steps) > 10 else ""
            raise SimulationStuck(
                f"simuleringen kommer inte vidare: inget steg har rört sig på {self.patience} arbetsdagar och "
                f"cykelns sista deadline ({self.latest.isoformat()}) har passerats. Kvar: {listed}{more}. "
                "Körningarnas tillstånd syns i Prefect UI; `arshjul steps list --simulation` visar stegen."
            )


def summarise(
    year: int, cycle_id: int, calendar: WorkingCalendar, *, executions: int, days: int, seconds: float
) -> SimulationSummary:
    mode = Mode.simulation
    with Session(runtime.engine()) as session:
        steps = session.exec(select(StepInstance).where(StepInstance.cycle_id == cycle_id)).all()
        outbox = session.exec(
            select(OutboxMessage.kind, OutboxMessage.state).where(
                OutboxMessage.cycle_id == cycle_id, OutboxMessage.mode == mode
            )
        ).all()
        audit = session.exec(select(AuditEntry.action).where(AuditEntry.cycle_id == cycle_id)).all()
        mail = mail_stats(sent_rows(session=session, mode=mode), calendar).as_dict()
    done = deliveries(steps, calendar)
    kinds: dict[str, int] = defaultdict(int)
    for kind, _ in outbox:
        kinds[kind] += 1
    return SimulationSummary(
        year=year,
        steps_total=len(steps),
        flow_runs=sum(1 for s in steps if s.flow_run_id),
        executions=executions,
        completed=len(done),
        completed_late=sum(1 for d in done if d.working_days_late > 0),
        returned=sum(1 for action in audit if action == "step.returned"),
        refused_inputs=sum(1 for action in audit if action == "step.input_rejected"),
        reminders=kinds[n.REMINDER] + kinds[n.DUE_TODAY],
        escalations=kinds[n.ESCALATION],
        emails=mail["mails"],  # mails that reached an inbox (a combined mail once)
        simulated_days=days,
        wall_seconds=round(seconds, 1),
        mail=mail,
    )
