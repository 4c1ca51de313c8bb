"""A step as its link shows it: everything about the step, and the form for what the
person may do now. GET shows; POST acts, once per state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlmodel import Session

from arshjul.core import runtime
from arshjul.core.database import read_only
from arshjul.core.links import LinkMaker
from arshjul.views.pages import ACTION_WORDS, render_page, step_kind_template
from arshjul.web.access import LinkUse
from models.dependencies import dependencies_by_step, dependents
from models.permissions import allowed_actions, expected_person
from models.queries import latest_change, step_history
from models.states import ACTION_INFINITIVES, Action, is_overdue, state_label, step_is_done
from models.swedish import long_date
from models.tables import StepState

FORM_ACTIONS = {"submit": Action.submit, "approve": Action.approve, "return": Action.send_back}
CHANGE_WORDS = {
    "step.opened": "öppnat",
    "step.submitted": "inlämnat",
    "step.approved": "godkänt",
    "step.returned": "återremitterat",
}


@dataclass
class FormValues:
    atgard: str = ""
    kommentar: str = ""
    dokument: str = ""
    diarienummer: str = ""


@dataclass
class StepPage:
    step: object
    today: dt.date
    owner_name: str
    owner_title: str | None
    decided_by_name: str | None
    decider_name: str | None
    state_label: str
    late: bool
    done: bool
    dependencies: list
    blockers: list[str]
    waiting_downstream: list[str]
    history: list[dict]
    actions: list[str]
    kind_template: str
    form_url: str
    new_link_url: str
    csrf: str
    needs_diarienummer: bool
    may_request_link: str | None = None
    waiting_note: str | None = None
    standin_for: str | None = None
    stale_note: str | None = None
    done_note: str | None = None
    error: str | None = None
    form: FormValues = field(default_factory=FormValues)
    followup: dict | None = None  # a follow-up step's goals (arshjul.web.followup_form)


def _local(moment: dt.datetime) -> str:
    zone = ZoneInfo(runtime.definition().organisation.info.timezone)
    local = moment.astimezone(zone)
    return f"{long_date(local.date())} kl. {local.strftime('%H:%M')}"


def stale_note(use: LinkUse, session: Session) -> tuple[str | None, str | None]:
    """(a note for a link made for an earlier state, or None; a thank-you when the
    person themselves moved it on)."""
    step = use.step
    if step.state_version == use.claims.version:
        return None, None
    change = latest_change(session=session, instance_id=step.id)
    if change is None:
        return "Steget har ändrats sedan länken skickades.", None
    who = use.directory.name(change.actor)
    when = long_date(runtime.definition().organisation.calendar.local_date(change.at))
    word = CHANGE_WORDS.get(change.action, "ändrat")
    if change.actor == use.person.key and change.action != "step.opened":
        return (
            None,
            f"Tack! Steget är {word} av dig den {when}. Länken har gjort sitt; nästa steg får du besked om per mejl.",
        )
    return f"Länken gäller ett tidigare läge: steget är redan {word} av {who} den {when}.", None


def build_page(
    use: LinkUse,
    *,
    token: str,
    csrf: str,
    links: LinkMaker,
    form: FormValues | None = None,
    error: str | None = None,
    followup_error: dict | None = None,
) -> StepPage:
    from arshjul.web.followup_form import followup_section, may_report

    definition = runtime.definition()
    org = definition.organisation
    calendar = org.calendar
    step = use.step
    directory = use.directory
    today = calendar.local_date(use.now)
    with Session(read_only(runtime.engine())) as session:
        needs = dependencies_by_step([step.id], session=session)[step.id]
        downstream = [d for d in dependents(step, session=session) if not step_is_done(d)]
        history = [e for e in step_history(session=session, instance_id=step.id) if e.action in ACTION_WORDS]
        stale, thanks = stale_note(use, session)
    owner = directory.members.get(step.owner)
    current = stale is None and thanks is None
    possible = allowed_actions(step, use.person.key, directory)
    actions = sorted(a.value for a in possible & use.claims.actions) if current else []
    principal = expected_person(step, directory)
    may_request = None
    if possible and not actions:
        may_request = ACTION_INFINITIVES[Action.submit] if Action.submit in possible else "besluta om"
    waiting_note = None
    if current and step_is_done(step):
        waiting_note = "Steget är klart: det finns inget mer att göra med det."
    elif current and not possible:
        waiting = directory.name(principal) if principal else "någon annan"
        waiting_note = f"Du kan inte göra något med steget just nu: det väntar på {waiting}."
    standin_for = None
    if principal and principal != use.person.key and directory.may_act_for(use.person.key, principal):
        standin_for = directory.name(principal)
    decided_by_name = org.decider_name(step.decided_by) if step.decided_by in (*org.roles, *org.bodies) else None
    return StepPage(
        step=step,
        today=today,
        owner_name=directory.name(step.owner),
        owner_title=owner.title if owner else None,
        decided_by_name=decided_by_name,
        decider_name=directory.name(step.decider) if step.decider else None,
        state_label=state_label(step, today),
        late=is_overdue(StepState(step.state), step.due, today),
        done=step_is_done(step),
        dependencies=[
            {"name": d.name, "unit_name": d.unit_name, "due": d.due, "done": step_is_done(d)}
            for d in sorted(needs, key=lambda d: d.due)
        ],
        blockers=[f"{d.name} · {d.unit_name}" for d in needs if not step_is_done(d)],
        waiting_downstream=[f"{d.name} · {d.unit_name}" for d in downstream[:20]],
        history=[
            {
                "when": _local(entry.at),
                "what": ACTION_WORDS[entry.action],
                "who": directory.name(entry.actor) if entry.actor in directory else None,
                "comment": entry.comment if entry.action != "step.input_rejected" else None,
            }
            for entry in history
        ],
        actions=actions,
        kind_template=step_kind_template(step.kind),
        form_url=f"/steg/{token}",
        new_link_url=f"/ny-lank/{token}",
        csrf=csrf,
        needs_diarienummer=step.decided_by_kind == "body" and not step.diarienummer,
        may_request_link=may_request,
        waiting_note=waiting_note,
        standin_for=standin_for,
        stale_note=stale,
        done_note=thanks,
        error=error,
        form=form or FormValues(),
        followup=followup_section(use, editable=current and may_report(use), error=followup_error),
    )


def render_step(page: StepPage, organisation_name: str) -> str:
    return render_page("step.html", page=page, organisation_name=organisation_name)
