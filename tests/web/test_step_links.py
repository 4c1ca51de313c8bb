"""A chef's path from the mail: the link opens the step (GET changes nothing), the form
acts once per state, and every bad link gets a Swedish page that changes nothing."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from arshjul.core import runtime
from arshjul.core.database import session_scope
from models.tables import AuditEntry, StepState


def audit(action: str | None = None) -> list[AuditEntry]:
    with Session(runtime.engine()) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return list(session.exec(query))


def csrf_of(html: str) -> str:
    import re

    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def test_the_owner_submits_from_the_mail_and_the_decider_approves(desk):
    desk.open("regionplan:region")
    desk.deliver()
    [opened] = desk.new_mail()
    assert opened["To"].addresses[0].addr_spec == "erik.ekonom@example.se"
    [link] = desk.links_in(opened)
    assert desk.links_in(opened, "mina-steg"), "every mail carries the personal link"

    page = desk.client.get(desk.path(link))
    assert page.status_code == 200
    assert "Regionplan" in page.text and "Lämna in" in page.text and "Regionfullmäktige" in page.text
    for header, value in {
        "referrer-policy": "no-referrer",
        "cache-control": "no-store",
    }.items():
        assert page.headers[header] == value
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert desk.step("regionplan:region").state == StepState.open  # the GET changed nothing

    answer = desk.client.post(
        desk.path(link),
        data={
            "csrf": csrf_of(page.text),
            "atgard": "submit",
            "kommentar": "Klar för beslut",
            "dokument": "Platina 2026-4711",
        },
        follow_redirects=True,
    )
    assert answer.status_code == 200 and "Tack! Steget är inlämnat av dig" in answer.text
    step = desk.step("regionplan:region")
    assert step.state == StepState.submitted and step.submitted_by == "erik.ekonom"
    [entry] = audit("step.submitted")
    assert entry.source == "länk" and entry.origin["client"] == "198.51.100.7"
    assert step.document_reference == "Platina 2026-4711" and step.last_comment == "Klar för beslut"
    assert link.rsplit("/", 1)[1] not in str(entry.origin)  # the token id, never the token

    # The same link again: the step moved on, nothing changes.
    again = desk.client.post(
        desk.path(link), data={"csrf": csrf_of(page.text), "atgard": "submit"}, follow_redirects=True
    )
    assert "Tack! Steget är inlämnat av dig" in again.text
    assert len(audit("step.submitted")) == 1

    desk.deliver()
    [to_decide] = [m for m in desk.new_mail() if "sigrid" in m["To"].addresses[0].addr_spec]
    [decision_link] = desk.links_in(to_decide)
    decision_page = desk.client.get(desk.path(decision_link))
    assert "Registrera beslutet" in decision_page.text
    # Without the diarienummer a body's decision needs: refused, explained, nothing written.
    refused = desk.client.post(
        desk.path(decision_link), data={"csrf": csrf_of(decision_page.text), "atgard": "approve"}
    )
    assert refused.status_code == 422 and "diarienummer" in refused.text
    assert desk.step("regionplan:region").state == StepState.submitted
    approved = desk.client.post(
        desk.path(decision_link),
        data={"csrf": csrf_of(decision_page.text), "atgard": "approve", "diarienummer": "RF/12/2026"},
        follow_redirects=True,
    )
    assert "godkänt av dig" in approved.text
    assert desk.step("regionplan:region").state == StepState.approved
    # The owner's old link now says who moved the step on, and when.
    old = desk.client.get(desk.path(link))
    assert "redan godkänt av Sigrid Sekreterare den 12 januari 2026" in old.text
    assert "Lämna in</button>" not in old.text


def test_bad_links_get_a_swedish_page_and_change_nothing(desk):
    desk.open("regionplan:region")
    desk.deliver()
    [link] = desk.links_in(desk.new_mail()[0])
    path = desk.path(link)
    token = path.rsplit("/", 1)[1]
    before = desk.step("regionplan:region")

    forged = desk.client.get(path[: -len(token)] + token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:])
    assert forged.status_code == 403 and "Länken är inte giltig" in forged.text and "Inget har ändrats" in forged.text
    assert "Skicka en ny länk till min adress" in forged.text

    desk.clock.set(desk.clock.now() + dt.timedelta(days=61))
    expired = desk.client.get(path)
    assert expired.status_code == 403 and "Länken har gått ut" in expired.text
    assert f'action="/ny-lank/{token}"' in expired.text
    sent = desk.client.post(f"/ny-lank/{token}")
    assert "Ny länk på väg" in sent.text
    desk.deliver()
    [fresh] = desk.new_mail()
    assert fresh["To"].addresses[0].addr_spec == "erik.ekonom@example.se"  # the address in the register
    [new_link] = desk.links_in(fresh)
    assert "Lämna in" in desk.client.get(desk.path(new_link)).text

    refused = audit("link.refused")
    assert {entry.origin["reason"] for entry in refused} >= {"forged", "expired"}
    assert all(token not in str(entry.origin) for entry in refused)
    after = desk.step("regionplan:region")
    assert (after.state, after.state_version, after.input_round) == (
        before.state,
        before.state_version,
        before.input_round,
    )


def test_failed_attempts_are_rate_limited_per_client(desk):
    for attempt in range(10):
        assert desk.client.get(f"/steg/nonsense{attempt}.abcdefghijklmnopqrstuvwxyz").status_code == 403
    limited = desk.client.get("/steg/nonsense.abcdefghijklmnopqrstuvwxyz")
    assert limited.status_code == 429 and "För många försök" in limited.text


def test_the_regionstab_page_needs_the_sign_in(desk):
    assert desk.client.get("/regionstab/2027").status_code == 401
    page = desk.client.get("/regionstab/2027", auth=("regionstab", "hemligt"))
    assert page.status_code == 200 and "Årshjul 2027" in page.text and "<svg" in page.text


def test_the_regionstab_home_shows_the_simulated_year_when_no_real_one_is_started(desk):
    """`arshjul serve --simulate 2027` starts only the simulation's cycle: the README's
    /regionstab must show it, and with no cycle at all say what to do, not just 404."""
    from models.tables import Cycle, Mode

    auth = ("regionstab", "hemligt")
    home = desk.client.get("/regionstab", auth=auth, follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/regionstab/2027"
    with session_scope(runtime.engine()) as session:
        for cycle in session.exec(select(Cycle)):
            cycle.mode = Mode.simulation
            session.add(cycle)
    home = desk.client.get("/regionstab", auth=auth, follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/regionstab/2027?simulering=1"
    assert desk.client.get(home.headers["location"], auth=auth).status_code == 200
    with session_scope(runtime.engine()) as session:
        for cycle in session.exec(select(Cycle)):
            cycle.organisation = "another-region"
            session.add(cycle)
    none = desk.client.get("/regionstab", auth=auth)
    assert none.status_code == 404 and "Ingen cykel är startad än" in none.text and "arshjul cycle start" in none.text
    # The router's own 404 keeps its Swedish page.
    assert "Adressen leder inte till någon sida" in desk.client.get("/finns-inte").text


def test_a_100_kb_comment_is_refused_on_the_page_and_never_mailed(desk):
    desk.open("regionplan:region")
    desk.deliver()
    [opened] = desk.new_mail()
    [link] = desk.links_in(opened)
    page = desk.client.get(desk.path(link))
    assert 'maxlength="4000"' in page.text  # the browser stops at the limit …
    answer = desk.client.post(  # … and the server refuses whatever gets past it
        desk.path(link), data={"csrf": csrf_of(page.text), "atgard": "submit", "kommentar": "x" * 100_000}
    )
    assert answer.status_code == 422
    assert "kommentaren är för lång (100000 tecken): högst 4000 tecken" in answer.text
    assert desk.step("regionplan:region").state == StepState.open and audit("step.submitted") == []
    assert all(len(entry.comment or "") < 1000 for entry in audit())  # not repeated into the audit …
    desk.deliver()
    assert desk.new_mail() == []  # … nor into a mail
