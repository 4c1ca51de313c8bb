"""The people of `arshjul simulate`: when each owner submits and each decider decides,
and what they write in the step's form.

Seeded per step and state (its state version: one intent per question, whatever inputs
were refused or waits finished meanwhile), so the same seed gives the same year whatever order the runs
execute in: a share of the owners are late, a few first let someone without the right
role try (the rules refuse it), deciders sometimes return a step for revision, and a
body decides at its meeting."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session

from arshjul.core import clock, runtime
from arshjul.core.database import session_scope
from models.definition import Definition
from models.followup import Analysis, Reported, period_statuses, record_report, step_items
from models.followup_warnings import warn_early
from models.goal_schema import Scale
from models.people import Directory, load_directory
from models.states import ACTION_LABELS, Action, step_is_done
from models.tables import StepInstance, StepState, stored_id

# The answers the simulated people gave, per (flow run, form round): the run that reads
# one records it with the source `simulering`, so a simulated year never looks like real
# use, while a person who resumes a simulation's run in the Prefect UI is still `ui`.
_answers: set[tuple[str, int]] = set()
_answers_lock = threading.Lock()


def answer_as_simulation(client, flow_run_id: str, round_: int, form: dict) -> bool:
    """Resume a run with a simulated person's form, remembering that the simulation gave
    it; whether the API accepted it."""
    with _answers_lock:
        _answers.add((str(flow_run_id), round_))
    accepted = client.resume_flow_run(flow_run_id, run_input=form).status.value == "ACCEPT"
    if not accepted:
        answered_by_simulation(flow_run_id, round_)  # not given after all
    return accepted


def answered_by_simulation(flow_run_id: str | None, round_: int) -> bool:
    """Whether the simulation gave this answer (asked once: the answer is used once)."""
    with _answers_lock:
        if flow_run_id is None or (str(flow_run_id), round_) not in _answers:
            return False
        _answers.discard((str(flow_run_id), round_))
        return True


RETURN_COMMENT = "Komplettera med måluppfyllelse och koppling till regionplanens mål."
# The seeded mix of statuses simulated units report (roughly seed 003's).
STATUS_MIX = {
    Scale.mal: {"gron": 0.3, "gul": 0.42, "rod": 0.22, "ej_matbar": 0.06},
    Scale.aktivitet: {"planerad": 0.3, "pagaende": 0.5, "forsenad": 0.05, "genomford": 0.15},
}
COMMENTS = {
    "gul": "Simulerat: arbetet pågår men målvärdet nås ännu inte.",
    "rod": "Simulerat: målet bedöms inte nås i år utan ytterligare åtgärder.",
}


@dataclass
class Intent:
    """What a simulated person will do on a day."""

    instance_id: int
    day: dt.date
    action: Action
    wrong_first: bool = False


class SimulatedPeople:
    def __init__(self, definition: Definition, *, seed: int, late_share: float):
        if not 0 <= late_share <= 1:
            raise ValueError("late_share must be between 0 and 1")
        self.definition = definition
        self.calendar = definition.organisation.calendar
        self.seed = seed
        self.late_share = late_share
        self.intents: dict[dt.date, list[Intent]] = defaultdict(list)
        self.planned_for: set[tuple[int, int]] = set()  # (instance, state version) already given an intent

    def rng(self, step: StepInstance, version: int) -> random.Random:
        return random.Random(f"{self.seed}:{step.key}:{version}")

    def plan(self, steps: list[StepInstance], today: dt.date) -> None:
        """Give every step that waits for someone an intent, once per round."""
        for step in steps:
            if step_is_done(step):
                continue  # submitted, and nobody decides
            if StepState(step.state) is StepState.submitted:
                self.plan_decider(step, today)
            elif StepState(step.state) in (StepState.open, StepState.returned):
                self.plan_owner(step, today)

    def plan_owner(self, step: StepInstance, today: dt.date) -> None:
        """When the owner (or stand-in) will submit: on time, or late for a share of them."""
        if (stored_id(step), step.state_version) in self.planned_for:
            return
        self.planned_for.add((stored_id(step), step.state_version))
        rng = self.rng(step, step.state_version)
        # Counted from the day the step last changed (opened or returned), not from the
        # day this is planned: a simulation restarted after a crash plans the same day.
        since = min(self.calendar.local_date(step.updated_at), today)
        if StepState(step.state) is StepState.returned:
            day = self.calendar.add_working_days(since, rng.randint(2, 4))
        elif rng.random() < self.late_share:
            day = self.calendar.add_working_days(step.due, rng.randint(1, 6))
        else:
            span = max(self.calendar.working_days_after(since, step.due), 0)
            day = self.calendar.add_working_days(since, rng.randint(min(1, span), max(span, 1))) if span else since
        day = max(day, today)
        self.intents[day].append(Intent(stored_id(step), day, Action.submit, wrong_first=rng.random() < 0.03))

    def plan_decider(self, step: StepInstance, today: dt.date) -> None:
        if (stored_id(step), step.state_version) in self.planned_for:
            return
        self.planned_for.add((stored_id(step), step.state_version))
        rng = self.rng(step, step.state_version)
        since = min(self.calendar.local_date(step.submitted_at), today) if step.submitted_at else today
        if step.decided_by_kind == "body" and step.meeting and step.meeting >= since:
            day = self.calendar.roll(step.meeting, "next")  # the body decides at its meeting
        else:
            day = self.calendar.add_working_days(since, rng.randint(1, 3))
        day = max(day, today)
        # At most two returns: the state version rises by two with each return and resubmission.
        action = Action.send_back if step.state_version < 6 and rng.random() < 0.08 else Action.approve
        self.intents[day].append(Intent(stored_id(step), day, action))

    def due_on(self, day: dt.date) -> list[Intent]:
        """The intents for `day`, taken off the list."""
        return self.intents.pop(day, [])

    def try_again(self, intent: Intent, day: dt.date) -> None:
        self.intents[day].append(intent)

    def form_for(
        self, step: StepInstance, intent: Intent, directory: Directory, today: dt.date, *, wrong: bool
    ) -> dict:
        principal = step.owner if intent.action is Action.submit else step.decider
        assert principal is not None  # only steps with an owner, or submitted ones with a decider, get intents
        actor = directory.acting_for(principal, today)
        if wrong:  # someone without the right role tries first; the rules refuse it
            others = [
                m for key, m in directory.members.items() if key != actor and not directory.may_act_for(key, principal)
            ]
            email = random.Random(f"{self.seed}:{step.key}:wrong").choice(others).email
        else:
            email = directory[actor].email
        form = {"åtgärd": ACTION_LABELS[intent.action], "epostadress": email, "kommentar": "", "diarienummer": ""}
        if intent.action is Action.send_back:
            form["kommentar"] = RETURN_COMMENT
        if intent.action is Action.approve and step.decided_by_kind == "body" and step.decided_by:
            short = self.definition.organisation.bodies[step.decided_by].short or "RS"
            form["diarienummer"] = f"{short.upper()}/{100 + stored_id(step) % 900}/{today.year}"
        return form

    def report_goals(self, step: StepInstance) -> int:
        """Before a follow-up step is submitted, its owner reports every item still without
        a status: a seeded mix, with comments for gul and röd, and an analysis."""
        with Session(runtime.engine()) as session:
            found = step_items(step, session=session)
            if found is None:
                return 0
            where = {"organisation": found.organisation, "year": found.year, "mode": found.mode}
            done = period_statuses(session=session, period=found.period, **where)
        entries = []
        for key in found.keys:
            if key in done:
                continue
            scale = found.plan.scale_of(key)
            assert scale is not None
            mix = STATUS_MIX[scale]
            rng = random.Random(f"{self.seed}:{found.period}:{key}")
            status = rng.choices(list(mix), weights=list(mix.values()))[0]
            entries.append(Reported(key, status, COMMENTS.get(status)))
        if not entries:
            return 0
        now = clock.now()
        analysis = [Analysis(step.unit, f"Simulerad analys av {found.plan.periods[found.period].name}.")]
        where = {"organisation": found.organisation, "mode": found.mode}
        with session_scope(runtime.engine()) as session:
            record_report(found.plan, found.period, entries, analysis, actor=step.owner or "simulering",
                          source="simulering", session=session, now=now, **where)  # fmt: skip
            warn_early(found.plan, found.period, calendar=self.calendar, mail_domain=runtime.mail_domain(),
                       directory=load_directory(session=session, organisation=found.organisation),
                       session=session, now=now, **where)  # fmt: skip
        return len(entries)
