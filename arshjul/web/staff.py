"""The regionstab's year at a glance: `/regionstab/<year>`, behind the same sign-in as
the Prefect UI (its basic auth on the embedded default; the region's own sign-in in
front of both in production). The wheel coloured by state with today marked, what is
due in the next four weeks, what is overdue and what waits on it — each linking to its
run in the Prefect UI."""

from __future__ import annotations

import base64
import datetime as dt
import hmac

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, select

from arshjul.core import clock, runtime
from arshjul.core.credentials import prefect_auth_string
from arshjul.core.database import read_only
from arshjul.views.year_view import state_category, state_wheel
from models.people import load_directory
from models.queries import cycle_steps, find_cycle, last_activity
from models.reporting import COLUMN_NAMES, COLUMNS, overdue_items, status_rows
from models.states import state_label, step_is_done
from models.tables import Cycle, Mode

DUE_SOON_DAYS = 28


def require_sign_in(request: Request, settings) -> None:
    expected = prefect_auth_string(settings)
    if expected is None:
        return  # production: the region's sign-in in front of the app protects /regionstab
    header = request.headers.get("Authorization", "")
    try:
        scheme, _, value = header.partition(" ")
        given = base64.b64decode(value).decode("utf-8") if scheme.lower() == "basic" else ""
    except ValueError:
        given = ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "Inloggning krävs", headers={"WWW-Authenticate": 'Basic realm="Regionstaben"'})


def run_url(settings, flow_run_id: str | None) -> str | None:
    return f"{settings.ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}" if flow_run_id else None


def register(app: FastAPI, web) -> None:
    settings = web.settings

    @app.get("/regionstab")
    def staff_home(request: Request, simulering: bool = False):
        require_sign_in(request, settings)
        organisation = runtime.definition().organisation.info.key
        with Session(read_only(runtime.engine())) as session:
            started = {
                mode: list(
                    session.exec(
                        select(Cycle.year)
                        .where(Cycle.mode == mode, Cycle.organisation == organisation)
                        .order_by(col(Cycle.year))
                    )
                )
                for mode in Mode
            }
        # `arshjul serve --simulate` starts no real cycle: show the simulated year then.
        if not simulering and not started[Mode.live] and started[Mode.simulation]:
            simulering = True
        years = started[Mode.of(simulering)]
        if not years:
            raise HTTPException(
                404,
                "Ingen cykel är startad än: starta en med `arshjul cycle start ÅÅÅÅ` "
                "(eller spela upp ett år med `arshjul simulate ÅÅÅÅ`).",
            )
        today = runtime.definition().organisation.calendar.local_date(clock.now())
        year = min(years, key=lambda y: abs(y - today.year - 1))
        return RedirectResponse(f"/regionstab/{year}" + ("?simulering=1" if simulering else ""), status_code=303)

    @app.get("/regionstab/{year}", response_class=HTMLResponse)
    def year_at_a_glance(year: int, request: Request, simulering: bool = False):
        require_sign_in(request, settings)
        if not 2000 <= year <= 2100:  # no cycle outside the plan years (and no id too large for the database)
            raise HTTPException(404, f"Cykel {str(year)[:30]} finns inte.")
        definition = runtime.definition()
        org = definition.organisation
        mode = Mode.of(simulering)
        with Session(read_only(runtime.engine())) as session:
            cycle = find_cycle(session=session, organisation=org.info.key, year=year, mode=mode)
            if cycle is None:
                raise HTTPException(404, f"Cykel {year} är inte startad{' i simuleringen' if simulering else ''}.")
            steps = cycle_steps(session=session, cycle_id=cycle.id)
            moment = clock.now()
            if mode is Mode.simulation:
                moment = last_activity(session=session, cycle_id=cycle.id) or moment  # the simulated clock
            today = org.calendar.local_date(moment)
            overdue = overdue_items(session=session, steps=steps, today=today, calendar=org.calendar)
            directory = load_directory(session=session, organisation=org.info.key)
        soon_until = today + dt.timedelta(days=DUE_SOON_DAYS)
        due_soon = sorted(
            (s for s in steps if not step_is_done(s) and today <= s.due <= soon_until),
            key=lambda s: (s.due, s.name, s.unit_name),
        )

        def row(step) -> dict:
            return {
                "step": step,
                "owner": directory.name(step.owner),
                "state": state_label(step, today),
                "category": state_category(step, today),
                "url": run_url(settings, step.flow_run_id),
            }

        status = []
        for entry in status_rows(steps, today, org.levels):
            process = definition.processes.get(entry.process)
            status.append(
                {
                    "anchor": f"{entry.process}-{entry.level}",
                    "process": process.name if process else entry.process,
                    "level": org.level_names.get(entry.level, entry.level),
                    "counts": [entry.counts[c] for c in COLUMNS],
                    "total": entry.total,
                    "steps": [row(s) for s in steps if (s.process, s.level) == (entry.process, entry.level)],
                }
            )
        return web.page(
            "year.html",
            wide=True,
            year=year,
            simulation=mode is Mode.simulation,
            today=today,
            wheel=state_wheel(steps, definition, year=year, today=today),
            due_soon=[row(s) for s in due_soon],
            overdue=[
                {
                    **row(item.step),
                    "late": item.working_days_late,
                    "waiting": [row(d) for d in item.waiting_downstream],
                }
                for item in overdue
            ],
            column_names=[COLUMN_NAMES[c] for c in COLUMNS],
            status_rows=status,
            done=sum(1 for s in steps if step_is_done(s)),
            total=len(steps),
        )
