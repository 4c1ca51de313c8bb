"""The step run: one flow run per step instance of a cycle.

Scheduled at the step's opening time. When it starts it opens the step (state, audit
entry, notice to the owner). While steps it depends on are not done it waits visibly
for them (the owner can work, but not submit). Then it suspends with a Swedish form:
lämna in, godkänn or återremittera, with a comment, a diarienummer and the acting
person's e-mail address. Each resume re-runs
this flow from the top; the database says how far the step has come, so nothing is kept
in memory between executions.
"""

from __future__ import annotations

from typing import Literal

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.input import RunInput
from prefect.states import Cancelled, State
from pydantic import Field
from sqlmodel import Session

from arshjul.core import clock, runtime
from arshjul.core.database import session_scope
from arshjul.views.markdown import inert, plain_line
from flows.simulated_people import answered_by_simulation
from flows.suspension import suspend_step
from models.people import Directory, load_directory
from models.permissions import expected_person
from models.queries import last_refusal
from models.states import state_label, step_is_done
from models.steps import advance_round
from models.tables import Cycle, StepInstance, StepState
from tasks.followup_artifacts import publish_followup
from tasks.steps import blockers_of, open_step_now, read_step, record_input

FLOW_NAME = "arshjul-steg"


ON_BEHALF = (
    "Personen du agerar för (förvald: den som steget väntar på). Du agerar i hens ställe, "
    "och granskningsloggen säger att det skedde i Prefect-formuläret."
)


class Inlämning(RunInput):
    """The Resume form while the step waits for its owner. The Prefect UI labels each
    field by its name, so the names are Swedish."""

    åtgärd: Literal["lämna in"] = Field(default="lämna in", description="Ägaren (eller ersättaren) lämnar in.")
    epostadress: str = Field(description=ON_BEHALF)
    kommentar: str = Field(default="", description="Frivillig: något beslutsfattaren behöver veta.")
    diarienummer: str = Field(
        default="", description="Dokumentreferens eller diarienummer, t.ex. RS/342/2027 eller var dokumentet finns."
    )


class Beslut(RunInput):
    """The Resume form while a submitted step waits for its decider."""

    åtgärd: Literal["godkänn", "återremittera"] = Field(description="Beslutsfattaren godkänner eller återremitterar.")
    epostadress: str = Field(description=ON_BEHALF)
    kommentar: str = Field(default="", description="Krävs vid återremiss: vad ska göras om?")
    diarienummer: str = Field(
        default="", description="Ärendets diarienummer, t.ex. RS/342/2027 (krävs när ett politiskt organ beslutar)."
    )


def _date(day) -> str:
    return day.isoformat() if day else "–"


def describe(step: StepInstance, *, directory: Directory, today, refusal: str | None) -> str:
    """The markdown the Resume dialog shows above the form. Every text from people or
    files (names, comments, the refusal, the description) is made inert: a comment with
    markup shows as typed and loads or links nothing."""
    calendar = runtime.definition().organisation.calendar
    owner = directory.members.get(step.owner)
    decider = directory.members.get(step.decider) if step.decider else None
    overdue = calendar.working_days_after(step.due, today)
    lines = [f"## {inert(step.name)}", f"**Enhet:** {inert(step.unit_name)}  "]
    title = f" ({inert(owner.title)})" if owner and owner.title else ""
    lines.append(f"**Ägare:** {inert(owner.name) if owner else '–'}{title}  ")
    late = overdue and not step_is_done(step) and StepState(step.state) is not StepState.submitted
    lines.append(f"**Deadline:** {_date(step.due)}{f' – försenat {overdue} arbetsdagar' if late else ''}  ")
    if step.decided_by:
        body = inert(runtime.definition().organisation.decider_name(step.decided_by))
        who = f" – beslutet registreras av {inert(decider.name)}" if decider else ""
        lines.append(f"**Beslutas av:** {body}{who}  ")
    if step.meeting:
        lines.append(f"**Sammanträde:** {_date(step.meeting)}  ")
    lines.append(f"**Läge:** {inert(state_label(step, today))}")
    lines.append("")
    state = StepState(step.state)
    expected = directory.members.get(expected_person(step, directory) or "")
    if state in (StepState.open, StepState.returned):
        standin = directory.members.get(owner.standin) if owner and owner.standin else None
        lines.append(
            f"**Väntar på:** inlämning från {inert(owner.name) if owner else 'ägaren'}"
            + (f" {inert(f'<{owner.email}>')}" if owner else "")
            + (f" (eller ersättaren {inert(f'{standin.name} <{standin.email}>')})" if standin else "")
            + "."
        )
    elif state is StepState.submitted:
        who = inert(f"{expected.name} <{expected.email}>") if expected else "beslutsfattaren"
        lines.append(f"**Väntar på:** beslut av {who} – välj *godkänn* eller *återremittera* (med kommentar).")
    lines += [
        "",
        "*Du som fyller i formuläret agerar i den namngivna personens ställe; granskningsloggen "
        "visar att beslutet kom från Prefect-formuläret. Cheferna själva agerar via länken i sitt mejl.*",
    ]
    if step.last_comment:
        lines += ["", f"**Senaste kommentar:** {inert(step.last_comment)}"]
    if step.diarienummer:
        lines.append(f"**Diarienummer:** {inert(step.diarienummer)}")
    if refusal:
        # First, so whoever tries again sees at once why the last attempt was refused.
        lines[:0] = [f"> **Förra försöket avvisades:** {inert(' '.join(refusal.split()))}", ""]
    if step.description:
        lines += ["", inert(step.description)]
    return "\n".join(lines)


def _last_refusal(instance_id: int) -> str | None:
    with Session(runtime.engine()) as session:
        return last_refusal(session=session, instance_id=instance_id)


def _waiting_message(step: StepInstance, directory: Directory) -> str:
    state = StepState(step.state)
    if state is StepState.submitted:
        return plain_line(f"Väntar på beslut av {directory.name(step.decider)} · deadline {step.due}")
    verb = "ny inlämning" if state is StepState.returned else "inlämning"
    return plain_line(f"Väntar på {verb} från {directory.name(step.owner)} · deadline {step.due}")


def _directory(step: StepInstance) -> Directory:
    with Session(runtime.engine()) as session:
        return load_directory(session=session, organisation=session.get(Cycle, step.cycle_id).organisation)


def _follows_up_goals(step: StepInstance) -> bool:
    """Whether the step reports a period of a goal structure (cheap: no database)."""
    plans = runtime.definition().goals.values()
    return any(step.step in period.steps for plan in plans for period in plan.source.periods)


@flow(name=FLOW_NAME, persist_result=True, retries=2, retry_delay_seconds=10)
def run_step(instance_id: int) -> str | State:
    """Open a step of the årshjul and take the owner's submission and the decision."""
    logger = get_run_logger()
    context = FlowRunContext.get()
    flow_run_id = str(context.flow_run.id) if context and context.flow_run else None
    directory = None
    while True:
        step = read_step(instance_id)
        directory = directory or _directory(step)
        today = runtime.definition().organisation.calendar.local_date(clock.now())
        if StepState(step.state) is StepState.cancelled:
            # The run ends Cancelled: returning a state sets the run's final state.
            return Cancelled(message=f"{step.name} · {step.unit_name}: inställt – {step.last_comment or ''}")
        if step_is_done(step):
            if _follows_up_goals(step):
                publish_followup(instance_id)
            verb = "godkänt" if StepState(step.state) is StepState.approved else "inlämnat"
            submitted_on = runtime.definition().organisation.calendar.local_date(step.submitted_at)
            late = f", inlämnat {submitted_on} efter deadline {step.due}" if submitted_on > step.due else ""
            return plain_line(f"{step.name} · {step.unit_name}: {verb}{late}")
        if StepState(step.state) is StepState.planned:
            if open_step_now(instance_id, flow_run_id):
                logger.info("Steget är öppnat; %s har fått besked.", directory.name(step.owner))
            continue
        blockers = blockers_of(instance_id) if StepState(step.state) is not StepState.submitted else []
        if blockers:
            # The owner can work on the step, but it cannot be submitted before what it
            # builds on is done; the run waits visibly and is woken when they are.
            waiting_for = "; ".join(f"{b.name} · {b.unit_name} (deadline {b.due})" for b in blockers[:5])
            more = f" och {len(blockers) - 5} till" if len(blockers) > 5 else ""
            logger.info("Kan lämnas in när detta är klart: %s%s", waiting_for, more)
            # Its own key space ("d"): the form of the same round ("r") must not find
            # this wait's resume and mistake it for an answer.
            suspend_step(
                f"d{step.input_round}",
                plain_line(f"Väntar på beroenden: {waiting_for}{more}"),
                state_name="Väntar på beroenden",
            )
            with session_scope(runtime.engine()) as session:
                advance_round(instance_id, expected_round=step.input_round, session=session)
            continue

        # A follow-up step shows its period's report on its run, as reported so far.
        if _follows_up_goals(step):
            publish_followup(instance_id)
        expected = directory.members.get(expected_person(step, directory) or "")
        form_type = Beslut if StepState(step.state) is StepState.submitted else Inlämning
        form = form_type.with_initial_data(
            description=describe(step, directory=directory, today=today, refusal=_last_refusal(instance_id)),
            epostadress=expected.email if expected else "",
        )
        answer = suspend_step(f"r{step.input_round}", _waiting_message(step, directory), form)
        simulated = answered_by_simulation(flow_run_id, step.input_round)
        outcome = record_input(
            instance_id,
            answer.model_dump(),
            expected_round=step.input_round,
            flow_run_id=flow_run_id,
            source="simulering" if simulated else "ui",
        )
        if outcome.accepted:
            logger.info("%s", outcome.message)
        elif outcome.stale:
            logger.info("Steget har ändrats utanför formuläret; läser om läget.")
        else:
            logger.warning("Åtgärden avvisades: %s", outcome.message)
