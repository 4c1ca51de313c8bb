""" "Mina steg": a person's own page from the personal link in every mail and digest —
their open steps, what waits for their decision, what opens soon — their deadlines as a
calendar feed to subscribe to (the same .ics rules as `arshjul plan --format ics`), and
revoking all their links.

The personal link only shows: its step links show a step without acting on it; the
link to act is mailed to the person's address in the organisation (the step page's
"skicka en ny länk till min adress")."""

from __future__ import annotations

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from arshjul.core import clock, runtime
from arshjul.core.database import read_only, session_scope
from arshjul.views.ics import Deadline, build_calendar
from arshjul.views.milestone_entries import milestone_entry, milestones_for
from arshjul.views.person_calendar import decision_event, owner_event
from arshjul.web.access import Refused
from models.personal_links import revoke_links, send_new_links
from models.queries import digest_steps
from models.states import is_overdue, state_label
from models.tables import Cycle, Mode, StepInstance, StepState

VIEW_LINK_DAYS = 7  # a step link handed out by "Mina steg" only shows the step


def masked(email: str) -> str:
    """'e…@example.se': enough to recognise one's own address, not to learn another's."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}…@{domain}"


def person_steps(person: str, *, session: Session) -> list[StepInstance]:
    """Every step of the person's live cycles that they own or decide."""
    live = select(Cycle.id).where(Cycle.mode == Mode.live)
    return list(
        session.exec(
            select(StepInstance)
            .where(col(StepInstance.cycle_id).in_(live))
            .where((StepInstance.owner == person) | (StepInstance.decider == person))
            .order_by(col(StepInstance.due))
        )
    )


def calendar_description(step: StepInstance, names) -> str:
    """The entry's text: what, who, when (as the plan export writes it)."""
    lines = [
        f"Steg: {step.name}",
        f"Enhet: {step.unit_name}",
        f"Ansvarig: {names(step.owner)}",
        f"Öppnar: {step.opens.isoformat()}",
        f"Deadline: {step.due.isoformat()}",
    ]
    if step.decided_by:
        org = runtime.definition().organisation
        if step.decided_by in org.roles or step.decided_by in org.bodies:
            lines.append(f"Beslutas av: {org.decider_name(step.decided_by)}")
    if step.meeting:
        lines.append(f"Sammanträde: {step.meeting.isoformat()}")
    if step.description:
        lines += ["", step.description]
    return "\n".join(lines)


def feed_events(steps: list[StepInstance], person: str, definition, names) -> list[Deadline]:
    """The person's calendar by the rules of their mails' attachments
    (`arshjul.views.person_calendar`): their own steps' deadlines (alarms only while the
    step waits for them, a cancelled one cancelled) and the decisions waiting for them,
    with the same UIDs, so a feed and a mail's file update the same events."""
    events = []
    for step in steps:
        description = calendar_description(step, names)
        if step.owner == person:
            process = definition.processes.get(step.process)
            events.append(
                owner_event(step, person, description=description, categories=(process.name,) if process else ())
            )
        if step.decider == person and step.state in (StepState.submitted, StepState.approved, StepState.cancelled):
            events.append(decision_event(step, person, description=description))
    return events


def register(app: FastAPI, web) -> None:
    def open_personal(token: str, request: Request):
        from arshjul.web.app import client_of

        return web.desk.open(token, client=client_of(request), page="mina-steg", personal=True)

    def view_link(use, step: StepInstance) -> str:
        return web.links.step_url(
            person=use.person.key,
            step=step,
            actions=frozenset(),
            generation=use.claims.generation,
            issued=use.now,
            days=VIEW_LINK_DAYS,
        )

    @app.get("/mina-steg/{token}", response_class=HTMLResponse)
    def my_steps(token: str, request: Request, notice: str | None = None):
        try:
            use = open_personal(token, request)
        except Refused as refusal:
            return web.refused(refusal, token)
        definition = runtime.definition()
        calendar = definition.organisation.calendar
        today = calendar.local_date(use.now)
        with Session(read_only(runtime.engine())) as session:
            digest = digest_steps(
                session=session, person=use.person.key, today=today, calendar=calendar, mode=Mode.live
            )

        def item(step: StepInstance, owner: bool = False) -> dict:
            return {
                "step": step,
                "url": view_link(use, step),
                "state_label": state_label(step, today),
                "late": is_overdue(StepState(step.state), step.due, today),
                "owner_name": use.directory.name(step.owner) if owner else None,
            }

        web.desk.record_view(use, page="mina-steg")
        base = web.links.public_url
        calendar_url = f"{base}/mina-steg/{token}/kalender.ics"
        return web.page(
            "mine.html",
            person_name=use.person.name,
            today=today,
            notice=None,
            open_steps=[item(step) for step in digest.open],
            to_decide=[item(step, owner=True) for step in digest.to_decide],
            coming=[item(step) for step in digest.coming],
            calendar_url=calendar_url,
            webcal_url="webcal://" + calendar_url.split("://", 1)[1],
            masked_email=masked(use.person.email),
            revoke_url=f"/mina-steg/{token}/sparra",
            csrf=web.signer.csrf_token(use.claims),
        )

    @app.get("/mina-steg/{token}/kalender.ics")
    def my_calendar(token: str, request: Request):
        try:
            use = open_personal(token, request)
        except Refused as refusal:
            return web.refused(refusal, token)
        org = runtime.definition().organisation
        definition = runtime.definition()
        with Session(read_only(runtime.engine())) as session:
            steps = person_steps(use.person.key, session=session)
        deadlines = feed_events(steps, use.person.key, definition, use.directory.name)
        # The external calendars' milestones within the span of the person's steps.
        marks = milestones_for(definition, [day for step in steps for day in (step.opens, step.due)])
        body = build_calendar(
            [*deadlines, *(milestone_entry(m, definition) for m in marks)],
            name=f"Mina steg i årshjulet – {org.info.name}",
            timezone=org.info.timezone,
            dtstamp=use.now,
            reminder_time=org.info.workday_start,
        )
        web.desk.record_view(use, page="kalender")
        return Response(body, media_type="text/calendar; charset=utf-8")

    @app.post("/mina-steg/{token}/sparra", response_class=HTMLResponse)
    def revoke(token: str, request: Request, csrf: str = Form("")):
        try:
            use = open_personal(token, request)
        except Refused as refusal:
            return web.refused(refusal, token)
        if not web.signer.csrf_valid(use.claims, csrf):
            web.desk.record_refused_action(use, reason="formuläret kom inte från sidan Mina steg", page="sparra")
            return web.page(
                "message.html",
                status=403,
                heading="Det gick inte",
                message="Formuläret kom inte från sidan Mina steg. Ladda om sidan och försök igen.",
                tone="bad",
                more=None,
            )
        now = clock.now()
        with session_scope(runtime.engine()) as session:
            revoke_links(
                session=session,
                organisation=runtime.definition().organisation.info.key,
                person=use.person.key,
                now=now,
                origin=use.origin(page="sparra"),
            )
            send_new_links(
                session=session,
                directory=use.directory,
                person=use.person.key,
                now=now,
                reason="revoked",
                mail_domain=runtime.mail_domain(),
            )
        return web.page(
            "message.html",
            heading="Dina länkar är spärrade",
            message="Alla länkar som skickats till dig fungerar inte längre, inte heller den här sidans.",
            tone="ok",
            more=f"En ny länk till Mina steg skickas till din adress i organisationen ({masked(use.person.email)}).",
        )
