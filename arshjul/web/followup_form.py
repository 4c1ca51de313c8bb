"""Reporting a follow-up step's goals on its page: one form per item (status, comment,
indicator value) and one for the analysis. Shown to whoever may submit the step through
this link; each POST carries the link's CSRF token, is checked like the import, and is
stored and audited with source `länk`. The step's state does not move, so the same link
goes on working until the step is submitted."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from arshjul.core import runtime
from arshjul.core.database import read_only, session_scope
from arshjul.web.access import LinkUse, Refused
from models.followup import Analysis, Reported, StepItems, period_analyses, period_statuses, step_items
from models.followup_authority import report_if_allowed
from models.followup_import import MAX_TEXT, Refusal, check_entry
from models.followup_warnings import warn_early
from models.goals import NEEDS_COMMENT, NOT_REPORTED, STATUSES, status_label
from models.permissions import allowed_actions
from models.states import Action


def may_report(use: LinkUse) -> bool:
    """The person may submit the step now through this link: then they may report it."""
    step = use.step
    return (
        step is not None
        and step.state_version == use.claims.version
        and Action.submit in use.claims.actions
        and Action.submit in allowed_actions(step, use.person.key, use.directory)
    )


def followup_section(use: LinkUse, *, editable: bool, error: dict | None = None) -> dict[str, Any] | None:
    """The goals the step reports, with what is reported so far; None for other steps."""
    with Session(read_only(runtime.engine())) as session:
        found = step_items(use.step, session=session)
        if found is None:
            return None
        where = {"organisation": found.organisation, "year": found.year, "mode": found.mode, "period": found.period}
        statuses = period_statuses(session=session, **where)
        analyses = period_analyses(session=session, **where)
    plan = found.plan
    items = []
    for key in found.keys:
        item = plan.items[key]
        scale = plan.scale_of(key)
        assert scale is not None
        reported = statuses.get(key)
        items.append(
            {
                "key": key,
                "name": item.name,
                "level": plan.levels[item.level].name,
                "path": [plan.items[k].name for k in plan.ancestors_of[key][::-1]],
                "options": list(STATUSES[scale].items()),
                "status": reported.status if reported else NOT_REPORTED,
                "status_label": status_label(reported.status if reported else NOT_REPORTED),
                "comment": reported.comment or "" if reported else "",
                "value": "" if reported is None or reported.value is None else f"{reported.value:g}".replace(".", ","),
                "indicator": item.indicator,
            }
        )
    return {
        "period": plan.periods[found.period].name,
        "items": items,
        "reported": sum(1 for item in items if item["status"] != NOT_REPORTED),
        "analysis": analyses.get(use.step.unit, ""),
        "editable": editable,
        "needs_comment": sorted(NEEDS_COMMENT),
        "error": error,
    }


def register(app: FastAPI, web) -> None:
    from arshjul.web.step_page import build_page, render_step

    def checked(token: str, request: Request, csrf: str) -> tuple[LinkUse, StepItems] | HTMLResponse:
        from arshjul.web.app import client_of

        try:
            use = web.desk.open(token, client=client_of(request), page="steg", personal=False)
        except Refused as refusal:
            return web.refused(refusal, token)
        if not web.signer.csrf_valid(use.claims, csrf):
            return refuse(use, token, "formuläret kom inte från den här sidan; ladda om sidan och försök igen", 403)
        if not may_report(use):
            return refuse(use, token, "du kan inte rapportera steget i dess nuvarande läge", 403)
        with Session(read_only(runtime.engine())) as session:
            found = step_items(use.step, session=session)
        if found is None:
            return refuse(use, token, "steget följer inte upp några mål", 400)
        return use, found

    def refuse(use: LinkUse, token: str, problem: str, code: int, item: str | None = None, **form: str):
        web.desk.record_refused_action(use, reason=problem, page="steg")
        error = {"item": item, "message": problem, **form}
        page = build_page(
            use, token=token, csrf=web.signer.csrf_token(use.claims), links=web.links, followup_error=error
        )
        return HTMLResponse(render_step(page, web.organisation_name), code)

    @app.post("/steg/{token}/mal", response_class=HTMLResponse)
    def report_item(
        token: str,
        request: Request,
        csrf: str = Form(""),
        nyckel: str = Form(""),
        status: str = Form(""),
        kommentar: str = Form(""),
        varde: str = Form(""),
    ):
        outcome = checked(token, request, csrf)
        if isinstance(outcome, HTMLResponse):
            return outcome
        use, found = outcome
        if nyckel not in found.keys:
            return refuse(use, token, "målet hör inte till det här steget", 400)
        scale = found.plan.scale_of(nyckel)
        assert scale is not None
        label = STATUSES[scale].get(status, status)
        entry = check_entry(found.plan, nyckel, label, kommentar, varde)
        if isinstance(entry, Refusal):
            return refuse(use, token, entry.message, 422, nyckel, status=status, kommentar=kommentar, varde=varde)
        with session_scope(runtime.engine()) as session:
            refusals = _report(use, found, [entry], [], page="mal", session=session)
            if not refusals:
                warn_early(
                    found.plan,
                    found.period,
                    organisation=found.organisation,
                    mode=found.mode,
                    calendar=runtime.definition().organisation.calendar,
                    directory=use.directory,
                    mail_domain=runtime.mail_domain(),
                    session=session,
                    now=use.now,
                )
        if refusals:
            return refuse(use, token, refusals[0], 409, nyckel, status=status, kommentar=kommentar, varde=varde)
        return RedirectResponse(f"/steg/{token}#mal-{nyckel}", status_code=303)

    @app.post("/steg/{token}/analys", response_class=HTMLResponse)
    def report_analysis(token: str, request: Request, csrf: str = Form(""), analys: str = Form("")):
        outcome = checked(token, request, csrf)
        if isinstance(outcome, HTMLResponse):
            return outcome
        use, found = outcome
        text = analys.strip()
        if not text or len(text) > MAX_TEXT:
            return refuse(use, token, f"skriv en analys på högst {MAX_TEXT} tecken", 422, "analys", analys=analys)
        with session_scope(runtime.engine()) as session:
            analysis = Analysis(use.step.unit, text)
            refusals = _report(use, found, [], [analysis], page="analys", session=session)
        if refusals:
            return refuse(use, token, refusals[0], 409, "analys", analys=analys)
        return RedirectResponse(f"/steg/{token}#analys", status_code=303)


def _report(
    use: LinkUse, found: StepItems, reported: list[Reported], analyses: list[Analysis], *, page: str, session: Session
) -> list[str]:
    """Store what the page reported (source `länk`) as the import does, in the caller's
    transaction; the refusals if its rules do not allow it."""
    return report_if_allowed(
        found.plan,
        found.period,
        reported,
        analyses,
        use.person,
        org=runtime.definition().organisation,
        directory=use.directory,
        mode=found.mode,
        source="länk",
        origin=use.origin(page=page, instance_id=use.step.id),
        session=session,
        now=use.now,
    ).refusals
