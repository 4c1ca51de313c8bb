"""The floor of bench_links.py: a web app that does no work. Served by uvicorn as the real
app is (access log on), it answers a chef's three requests as the real app does — the
step page with its form, the submission (a redirect back), the page again — with one
fixed page of about a real step page's size, and no database, token or template. What
its clients measure is what the machine, the server and the clients themselves cost."""

from __future__ import annotations

from fastapi import FastAPI, Form
from fastapi.responses import HTMLResponse, RedirectResponse

PAGE_BYTES = 9_000  # about the size of a real step page
# The form's field and the thank-you are both on it: the clients find what they look for.
BODY = '<form method="post"><input type="hidden" name="csrf" value="0123456789abcdef"></form><p>Tack!</p>'
PAGE = "<!doctype html><title>Steg</title>" + BODY + "<p>" + "x" * (PAGE_BYTES - len(BODY) - 37) + "</p>"

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/halsa")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/", response_class=HTMLResponse)
@app.get("/steg/{token}", response_class=HTMLResponse)
def show_step(token: str = "") -> HTMLResponse:
    return HTMLResponse(PAGE)


@app.post("/steg/{token}")
def act_on_step(token: str, csrf: str = Form("")) -> RedirectResponse:
    return RedirectResponse(f"/steg/{token}", status_code=303)
