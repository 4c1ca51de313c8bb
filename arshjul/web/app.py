"""The web app for people: a chef's one click from the mail to a page that knows who they
are (`/steg/<token>`), their own page and calendar (`/mina-steg/<token>`), and the
regionstab's year at a glance (`/regionstab`, behind the same sign-in as the Prefect UI).

Every page is Swedish, server-rendered and works without JavaScript. Every response
says `Referrer-Policy: no-referrer` (a token in the address must not leak to another
site), `Cache-Control: no-store` and a strict Content-Security-Policy (nothing but this
app's own style sheet). A GET never changes a step; a POST acts through the same domain
operations, rules and audit as the CLI and the Prefect form, and resumes the step's
waiting run so the Prefect UI follows.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from arshjul.core import clock, runtime
from arshjul.core.database import session_scope
from arshjul.core.links import LinkMaker, LinkSigner
from arshjul.core.settings import Settings, get_settings
from arshjul.views.pages import STATIC_DIR, render_page
from arshjul.web import followup_form, mine, staff
from arshjul.web.access import REFUSALS, LinkDesk, Refused
from arshjul.web.step_page import FORM_ACTIONS, FormValues, build_page, render_step
from models.permissions import allowed_actions
from models.personal_links import send_new_links
from models.states import ACTION_LABELS
from models.steps import StaleInput, StepActionError

# Imported with the app, not at the first action: it brings Prefect's client, a second
# or two that the first person to act after a restart would otherwise wait.
from tasks.steps import after_action, apply_action, nudge_run_after_external_action

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class Web:
    """What the routes share: settings, the link desk, the link maker."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.signer = LinkSigner.from_settings(settings)
        self.links = LinkMaker(
            self.signer,
            public_url=settings.resolved_public_url,
            link_days=settings.link_days,
            personal_link_days=settings.personal_link_days,
        )
        self.desk = LinkDesk(settings, self.signer)

    @property
    def organisation_name(self) -> str:
        return runtime.definition().organisation.info.name

    def page(self, template: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(render_page(template, organisation_name=self.organisation_name, **context), status)

    def refused(self, refusal: Refused, token: str | None = None) -> HTMLResponse:
        heading, message, next_step = REFUSALS[refusal.reason]
        # A genuine token names its person: a new link goes to their address, not to one
        # typed in. A token we cannot trust gets the form for an address in the register.
        genuine = refusal.claims is not None and refusal.reason in ("expired", "revoked", "wrong_page")
        return self.page(
            "refused.html",
            status=refusal.status,
            heading=heading,
            message=message,
            next_step=next_step,
            new_link_url=f"/ny-lank/{token}" if genuine and token else None,
            ask_address=refusal.reason in ("forged", "wrong_page") and not genuine,
        )


def client_of(request: Request) -> str:
    return request.client.host if request.client else "okänd"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    web = Web(settings)
    app = FastAPI(title="Årshjulet", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = web
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 401 and exc.headers:
            return Response("Inloggning krävs.", 401, headers=exc.headers, media_type="text/plain; charset=utf-8")
        heading = "Sidan finns inte" if exc.status_code == 404 else "Det gick inte"
        # Our own 404s say what is missing (in Swedish); the router's own says "Not Found".
        own = isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase
        message = "Adressen leder inte till någon sida i årshjulet." if exc.status_code == 404 else str(exc.detail)
        if own and exc.status_code == 404:
            message = str(exc.detail)
        return web.page("message.html", status=exc.status_code, heading=heading, message=message, tone="bad", more=None)

    @app.exception_handler(RequestValidationError)
    async def bad_value(request: Request, exc: RequestValidationError):
        # A hand-typed address or a form with a value of the wrong kind: a Swedish page,
        # not FastAPI's English JSON (which would also echo the value).
        return web.page(
            "message.html",
            status=400,
            heading="Det gick inte",
            message="Adressen eller formuläret har ett ogiltigt värde. Öppna sidan från länken i mejlet igen.",
            tone="bad",
            more=None,
        )

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.exception("fel i webbappen")
        return web.page(
            "message.html",
            status=500,
            heading="Något gick fel",
            message=(
                "Något gick fel hos oss. Inget av det du skickade har sparats till hälften: försök igen om en stund."
            ),
            tone="bad",
            more=None,
        )

    @app.get("/", response_class=HTMLResponse)
    def home():
        return web.page(
            "message.html",
            heading="Årshjulet",
            message="Öppna länken i ett mejl från årshjulet för att se dina steg.",
            tone="ok",
            more=None,
        )

    @app.get("/halsa")
    def health():
        return {"status": "ok"}

    # -- a step's link ---------------------------------------------------------------

    @app.get("/steg/{token}", response_class=HTMLResponse)
    def show_step(token: str, request: Request):
        try:
            use = web.desk.open(token, client=client_of(request), page="steg", personal=False)
        except Refused as refusal:
            return web.refused(refusal, token)
        page = build_page(use, token=token, csrf=web.signer.csrf_token(use.claims), links=web.links)
        web.desk.record_view(use, page="steg", shown="stale" if page.stale_note or page.done_note else "current")
        return HTMLResponse(render_step(page, web.organisation_name))

    @app.post("/steg/{token}", response_class=HTMLResponse)
    def act_on_step(
        token: str,
        request: Request,
        csrf: str = Form(""),
        atgard: str = Form(""),
        kommentar: str = Form(""),
        dokument: str = Form(""),
        diarienummer: str = Form(""),
    ):
        try:
            use = web.desk.open(token, client=client_of(request), page="steg", personal=False)
        except Refused as refusal:
            return web.refused(refusal, token)
        form = FormValues(atgard=atgard, kommentar=kommentar, dokument=dokument, diarienummer=diarienummer)
        csrf_token = web.signer.csrf_token(use.claims)

        def again(problem: str, status: int):
            web.desk.record_refused_action(use, reason=problem, page="steg")
            page = build_page(use, token=token, csrf=csrf_token, links=web.links, form=form, error=problem)
            return HTMLResponse(render_step(page, web.organisation_name), status)

        if not web.signer.csrf_valid(use.claims, csrf):
            return again("formuläret kom inte från den här sidan; ladda om sidan och försök igen", 403)
        if use.step.state_version != use.claims.version:
            web.desk.record_refused_action(use, reason="länken gäller ett tidigare läge", page="steg")
            return RedirectResponse(f"/steg/{token}", status_code=303)
        action = FORM_ACTIONS.get(atgard)
        if action is None or action not in use.claims.actions:
            return again("välj en åtgärd som länken gäller", 400)
        if action not in allowed_actions(use.step, use.person.key, use.directory):
            return again(f"du får inte {ACTION_LABELS[action]} steget i dess nuvarande läge", 403)
        document = " ".join(dokument.split())
        is_diarienummer = bool(document) and _looks_like_diarienummer(document)
        try:
            step = apply_action(
                use.step.id,
                action,
                actor_email=use.person.email,
                comment=kommentar,
                diarienummer=(diarienummer or (document if is_diarienummer else "")) or None,
                document_reference=None if is_diarienummer else (document or None),
                source="länk",
                expected_version=use.claims.version,
                origin=use.origin(page="steg"),
            )
        except StaleInput:
            return RedirectResponse(f"/steg/{token}", status_code=303)
        except StepActionError as refusal:
            return again(str(refusal), 422)
        try:
            after_action(step, action)
            nudge_run_after_external_action(
                step,
                {
                    "åtgärd": ACTION_LABELS[action],
                    "epostadress": use.person.email,
                    "kommentar": kommentar,
                    "diarienummer": step.diarienummer or "",
                },
            )
        except Exception:  # noqa: BLE001 - the action is committed; the run catches up when it next runs
            log.warning("Prefect-körningen för steg %s kunde inte väckas nu", step.id, exc_info=True)
        return RedirectResponse(f"/steg/{token}", status_code=303)

    # -- new links, to the address in the organisation only ------------------------------

    @app.post("/ny-lank/{token}", response_class=HTMLResponse)
    def new_link_for_token(token: str, request: Request):
        try:
            claims = web.signer.check(token, now=clock.now())
        except Exception as bad:  # noqa: BLE001 - an expired token still names its person
            claims = getattr(bad, "claims", None)
        if claims is None:
            refusal = web.desk.refuse("forged", None, client=client_of(request), page="ny-lank", status=403)
            return web.refused(refusal)
        return _send_new_link(web, person=claims.person, instance_id=claims.instance_id, client=client_of(request))

    @app.post("/ny-lank", response_class=HTMLResponse)
    def new_link_for_address(request: Request, adress: str = Form("")):
        from sqlmodel import Session

        from models.people import load_directory

        with Session(runtime.engine()) as session:
            directory = load_directory(session=session, organisation=runtime.definition().organisation.info.key)
        member = directory.by_email(adress)
        if member is None:
            web.desk.refuse("unknown_person", None, client=client_of(request), page="ny-lank", status=200)
            return _sent_page(web)
        _send_new_link(web, person=member.key, instance_id=None, client=client_of(request))
        # The same answer as for an unknown address, even when too many links were asked
        # for: otherwise a few requests would tell who is in the register.
        return _sent_page(web)

    mine.register(app, web)
    followup_form.register(app, web)
    staff.register(app, web)
    return app


def _looks_like_diarienummer(text: str) -> bool:
    from models.steps import DIARIENUMMER

    return bool(DIARIENUMMER.match(text))


def _sent_page(web: Web) -> HTMLResponse:
    # The same answer whether the address was known or not: nobody learns who is in the register.
    return web.page(
        "message.html",
        heading="Ny länk på väg",
        message="Om adressen finns i organisationens register skickas en ny länk dit inom några minuter.",
        tone="ok",
        more="Länkar skickas bara till adressen i organisationens register, aldrig till en annan adress.",
    )


def _send_new_link(web: Web, *, person: str, instance_id: int | None, client: str) -> HTMLResponse:
    from models.people import load_directory
    from models.tables import StepInstance

    now = clock.now()
    with session_scope(runtime.engine()) as session:
        directory = load_directory(session=session, organisation=runtime.definition().organisation.info.key)
        step = session.get(StepInstance, instance_id) if instance_id is not None else None
        sent = send_new_links(
            session=session,
            directory=directory,
            person=person,
            now=now,
            reason="requested",
            mail_domain=runtime.mail_domain(),
            instance_id=step.id if step else None,
            cycle_id=step.cycle_id if step else None,
        )
        from models.audit import append_audit

        append_audit(
            session=session,
            at=now,
            actor=person,
            action="link.requested" if sent else "link.refused",
            source="länk",
            instance_id=step.id if step else None,
            comment=None if sent else "för många nya länkar den senaste timmen",
            origin={"via": "länk", "page": "ny-lank", "client": client},
        )
    if sent:
        return _sent_page(web)  # the outbox sends it with the next round (every minute)
    return web.page(
        "message.html",
        status=429,
        heading="Vänta en stund",
        message=(
            "Du har redan fått flera nya länkar den senaste timmen. Titta i din inkorg, eller försök igen om en timme."
        ),
        tone="warn",
        more=None,
    )
