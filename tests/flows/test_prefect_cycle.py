"""The cycle through the real Prefect API (one test server for the session): starting a
cycle, the step runs and their Resume form, refusals, dependencies, no duplicates."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import StateType
from sqlmodel import Session, select

from arshjul.core import runtime
from arshjul.views.markdown import inert
from models.tables import AuditEntry, Cycle, OutboxMessage, StepInstance, StepState
from tests.conftest import SMALL_ORG
from tests.prefect_support import (
    app_environment,
    approve_regionplan,
    execute,
    form,
    instance,
    no_heartbeats,
    resume,
    state_of,
)

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="module")
def cycle(prefect_server, tmp_path_factory):
    """The small organisation's cycle 2027, started once for this module."""
    from flows.run_step import run_step
    from flows.start_cycle import start_cycle

    home = tmp_path_factory.mktemp("app")
    with app_environment(home, SMALL_ORG), no_heartbeats():
        deployment_id = run_step.to_deployment(name="arshjul").apply()
        first = start_cycle(2027)
        yield {"deployment_id": deployment_id, "first": first}


def cycle_identity() -> str:
    with Session(runtime.engine()) as session:
        return session.exec(select(Cycle.identity)).one()


def runs_of(deployment_id, identities: set[str] | None = None):
    """The runs of this module's cycle (or of the cycles named): other tests in the same
    worker share the Prefect server and the deployment, so runs are told apart by the
    cycle's identity in their idempotency key."""
    identities = identities or {cycle_identity()}
    runs: list = []
    with get_client(sync_client=True) as client:
        while page := client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])), limit=200, offset=len(runs)
        ):
            runs += page
    return [run for run in runs if any(f":{identity}:" in (run.idempotency_key or "") for identity in identities)]


def test_start_creates_one_scheduled_run_per_step(cycle):
    assert cycle["first"]["instances_created"] == 15 and cycle["first"]["flow_runs_created"] == 15
    runs = runs_of(cycle["deployment_id"])
    assert len(runs) == 15
    by_id = {str(run.id): run for run in runs}
    with Session(runtime.engine()) as session:
        steps = session.exec(select(StepInstance)).all()
    for step in steps:
        run = by_id[step.flow_run_id]
        assert run.parameters == {"instance_id": step.id}
        assert run.name == f"2027 · {step.name} · {step.unit_name}"
        assert {
            "årshjul",
            "år:2027",
            f"process:{step.process}",
            f"nivå:{step.level}",
            f"enhet:{step.unit}",
            f"roll:{step.owner_role}",
        } <= set(run.tags)
    regionplan = by_id[instance("regionplan:region").flow_run_id]
    assert regionplan.state.type is StateType.SCHEDULED
    # 08:00 in Stockholm on the opening day (winter time: 07:00 UTC).
    assert regionplan.state.state_details.scheduled_time == dt.datetime(2026, 1, 12, 7, 0, tzinfo=dt.UTC)


def test_starting_again_and_after_a_restart_creates_nothing(cycle):
    from arshjul.core.database import dispose_engines
    from flows.start_cycle import start_cycle

    before = {str(run.id) for run in runs_of(cycle["deployment_id"])}
    again = start_cycle(2027)
    dispose_engines()  # a restarted service: new engines, caches rebuilt
    runtime._cache.clear()
    after_restart = start_cycle(2027)
    assert (again["instances_created"], again["flow_runs_created"]) == (0, 0)
    assert (after_restart["instances_created"], after_restart["flow_runs_created"]) == (0, 0)
    assert {str(run.id) for run in runs_of(cycle["deployment_id"])} == before


def test_a_fresh_app_database_never_adopts_the_runs_of_another(cycle, tmp_path):
    """E.g. `var/arshjul.db` deleted while `var/prefect` is kept: the same cycle started
    again must get runs of its own, not the old ones (whose parameters name step
    instances of the old database)."""
    from flows.start_cycle import start_cycle

    before = {str(run.id) for run in runs_of(cycle["deployment_id"])}
    with app_environment(tmp_path, SMALL_ORG):
        fresh = start_cycle(2027)
        with Session(runtime.engine()) as session:
            linked = {step.flow_run_id for step in session.exec(select(StepInstance))}
        other = cycle_identity()
    assert (fresh["instances_created"], fresh["flow_runs_created"]) == (15, 15)
    assert len(linked) == 15 and not linked & before
    both = {cycle_identity(), other}
    assert {str(run.id) for run in runs_of(cycle["deployment_id"], both)} == before | linked


def test_step_without_decider_opens_and_is_done_on_submission(cycle):
    step = instance("tertialrapport_omrade:omr_b")
    assert execute(step.flow_run_id) == "Suspended"
    suspended = state_of(step.flow_run_id)
    assert suspended.state_details.run_input_keyset
    assert suspended.state_details.pause_timeout is None  # waits for weeks, not Prefect's default hour
    assert "Väntar på inlämning från Otto Berg" in suspended.message
    assert instance(step.key).state == StepState.open
    resume(step.flow_run_id, form("lämna in", "otto.b@example.se", "Klar"))
    assert execute(step.flow_run_id) == "Completed"
    done = instance(step.key)
    assert done.state == StepState.submitted and done.submitted_by == "otto.b"
    with Session(runtime.engine()) as session:
        actions = [
            (e.action, e.source, e.flow_run_id)
            for e in session.exec(select(AuditEntry).where(AuditEntry.instance_id == step.id).order_by(AuditEntry.id))
        ]
    assert actions == [("step.opened", "system", step.flow_run_id), ("step.submitted", "ui", step.flow_run_id)]


def test_submit_return_resubmit_approve(cycle):
    step = instance("regionplan:region")
    execute(step.flow_run_id)
    resume(step.flow_run_id, form("lämna in", "erik.ekonom@example.se"))
    execute(step.flow_run_id)
    assert instance(step.key).state == StepState.submitted
    assert "Väntar på beslut av Sigrid Sekreterare" in state_of(step.flow_run_id).message
    resume(step.flow_run_id, form("återremittera", "sigrid.sekreterare@example.se", "Lägg till de finansiella målen"))
    execute(step.flow_run_id)
    assert instance(step.key).state == StepState.returned
    assert "Väntar på ny inlämning" in state_of(step.flow_run_id).message
    resume(step.flow_run_id, form("lämna in", "erik.ekonom@example.se"))
    execute(step.flow_run_id)
    resume(step.flow_run_id, form("godkänn", "sigrid.sekreterare@example.se", diarienummer="RF/12/2026"))
    assert execute(step.flow_run_id) == "Completed"
    done = instance(step.key)
    assert done.state == StepState.approved and done.diarienummer == "RF/12/2026"
    with Session(runtime.engine()) as session:
        kinds = [
            m.kind
            for m in session.exec(
                select(OutboxMessage).where(OutboxMessage.instance_id == step.id).order_by(OutboxMessage.id)
            )
        ]
    assert kinds == ["opened", "awaiting_decision", "returned", "awaiting_decision", "decided"]


@pytest.mark.parametrize(
    "bad, reason",
    [
        (form("lämna in", "nobody@example.se"), "okänd e-postadress"),
        (form("lämna in", "olle.a@example.se"), "Olle Andersson får inte lämna in detta steg"),
    ],
)
def test_bad_input_is_refused_and_the_run_keeps_waiting(cycle, bad, reason):
    step = instance("manadsrapport@2027-02:region")
    if instance(step.key).state == StepState.planned:
        execute(step.flow_run_id)
    rounds = instance(step.key).input_round
    resume(step.flow_run_id, bad)
    assert execute(step.flow_run_id) == "Suspended"
    after = instance(step.key)
    assert after.state == StepState.open and after.input_round == rounds + 1
    with Session(runtime.engine()) as session:
        last = session.exec(
            select(AuditEntry).where(AuditEntry.instance_id == step.id).order_by(AuditEntry.id.desc())
        ).first()
    assert last.action == "step.input_rejected" and reason in last.comment
    # The new form tells the person why the last attempt was refused.
    with get_client(sync_client=True) as client:
        keyset = state_of(step.flow_run_id).state_details.run_input_keyset
        description = json.loads(client.read_flow_run_input(step.flow_run_id, keyset["description"]))
    # Shown as typed: inert markdown (arshjul/views/markdown.py), on one line.
    assert "Förra försöket avvisades" in description and inert(" ".join(reason.split())) in description


def test_the_form_fits_the_state_and_names_the_expected_person(cycle):
    """While the owner is due the form is a submission (a decision is refused by the API
    itself), prefilled with the owner's address; the refusal of the last try comes first."""
    step = instance("manadsrapport@2027-02:region")
    if instance(step.key).state == StepState.planned:
        execute(step.flow_run_id)
    execute(step.flow_run_id)
    response = resume(step.flow_run_id, form("godkänn", "sigrid.sekreterare@example.se", diarienummer="RS/1/2027"))
    assert response.status.value == "REJECT"
    with get_client(sync_client=True) as client:
        keyset = state_of(step.flow_run_id).state_details.run_input_keyset
        schema = client.read_flow_run_input(step.flow_run_id, keyset["schema"])
        description = json.loads(client.read_flow_run_input(step.flow_run_id, keyset["description"]))
    assert "Inlämning" in schema and "godkänn" not in schema and "erik.ekonom@example.se" in schema
    assert inert("<erik.ekonom@example.se>") in description
    if "Förra försöket avvisades" in description:
        assert description.startswith("> **Förra försöket avvisades:**")


def test_an_action_in_the_form_is_audited_as_on_behalf_of_the_named_person(cycle):
    step = instance("tertialrapport_omrade:omr_a")
    if instance(step.key).state == StepState.planned:
        execute(step.flow_run_id)
    resume(step.flow_run_id, form("lämna in", "olle.a@example.se", "Klar", "Platina 2027-88"))
    execute(step.flow_run_id)
    with Session(runtime.engine()) as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.instance_id == step.id, AuditEntry.action == "step.submitted")
        ).one()
    assert entry.source == "ui" and entry.actor == "olle.a"
    assert entry.origin["via"] == "prefect-formuläret" and entry.origin["on_behalf_of"] == "olle.a@example.se"
    assert instance(step.key).document_reference == "Platina 2027-88"


def test_the_form_schema_refuses_an_unknown_action(cycle):
    step = instance("manadsrapport@2027-05:region")
    execute(step.flow_run_id)
    response = resume(step.flow_run_id, form("skjut upp", "erik.ekonom@example.se"))
    assert response.status.value == "REJECT"
    assert state_of(step.flow_run_id).type is StateType.PAUSED


def test_the_return_needs_a_comment(cycle):
    step = instance("arsredovisning:region")
    # Its dependency (the förvaltning report) and that one's (the area reports) first.
    for key in ("tertialrapport_omrade:omr_a", "tertialrapport_omrade:omr_b"):
        dependency = instance(key)
        if dependency.state == StepState.planned:
            execute(dependency.flow_run_id)
        if instance(key).state == StepState.open:
            owner = {"omr_a": "olle.a", "omr_b": "otto.b"}[dependency.unit]
            resume(dependency.flow_run_id, form("lämna in", f"{owner}@example.se"))
            execute(dependency.flow_run_id)
    administration = instance("tertialrapport_forvaltning:fv")
    execute(administration.flow_run_id)
    resume(administration.flow_run_id, form("lämna in", "frida.forvaltning@example.se"))
    assert execute(administration.flow_run_id) == "Completed"
    execute(step.flow_run_id)
    resume(step.flow_run_id, form("lämna in", "erik.ekonom@example.se"))
    execute(step.flow_run_id)
    resume(step.flow_run_id, form("återremittera", "sigrid.sekreterare@example.se", ""))
    execute(step.flow_run_id)
    assert instance(step.key).state == StepState.submitted  # refused: still waiting for a decision


def test_dependencies_hold_a_step_back_until_they_are_done(cycle):
    area = instance("omrade_verksamhetsplan:omr_a")
    assert execute(area.flow_run_id) == "Väntar på beroenden"
    waiting = state_of(area.flow_run_id)
    assert waiting.type is StateType.PAUSED and not waiting.state_details.run_input_keyset
    assert "Regionstyrelsens verksamhetsplan · Regionstyrelsen" in waiting.message
    assert instance(area.key).state == StepState.open  # the owner is told and can start working

    board = instance("rs_verksamhetsplan:rs")
    approve_regionplan()
    execute(board.flow_run_id)
    resume(board.flow_run_id, form("lämna in", "frida.forvaltning@example.se"))
    execute(board.flow_run_id)
    resume(board.flow_run_id, form("godkänn", "sigrid.sekreterare@example.se", diarienummer="RS/44/2026"))
    assert execute(board.flow_run_id) == "Completed"
    # Approving the board's plan woke the area plan's run …
    assert state_of(area.flow_run_id).name == "Resuming"
    # … which now asks for the submission.
    assert execute(area.flow_run_id) == "Suspended"
    resume(area.flow_run_id, form("lämna in", "olle.a@example.se"))
    execute(area.flow_run_id)
    assert instance(area.key).state == StepState.submitted


def test_cli_action_moves_a_waiting_run_on(cycle):
    """`arshjul steps submit` follows the same rules and audit; the waiting run re-reads."""
    from models.states import Action
    from tasks.steps import after_action, apply_action, nudge_run_after_external_action

    step = instance("rapport_till_rf@2027-02-16:rs")
    execute(step.flow_run_id)
    done = apply_action(
        step.id,
        Action.submit,
        actor_email="frida.forvaltning@example.se",
        comment="Rapporten bifogad",
        diarienummer=None,
        source="cli",
    )
    after_action(done, Action.submit)
    assert nudge_run_after_external_action(done, form("lämna in", "frida.forvaltning@example.se"))
    assert execute(step.flow_run_id) == "Completed"  # it finds the step done and ends
    with Session(runtime.engine()) as session:
        last = session.exec(
            select(AuditEntry).where(AuditEntry.instance_id == step.id).order_by(AuditEntry.id.desc())
        ).first()
    assert (last.action, last.source, last.actor_role) == ("step.submitted", "cli", "ägare")


def test_daily_sweep_reminds_tags_and_publishes(cycle):
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.daily_sweep import daily_sweep

    report = instance("manadsrapport@2027-02:region")
    if report.state == StepState.planned:
        execute(report.flow_run_id)
    assert instance(report.key).state == StepState.open  # never submitted: overdue after 8 March
    result = daily_sweep(day="2027-03-09")
    assert result["overdue"] >= 1
    with get_client(sync_client=True) as client:
        assert "försenad" in client.read_flow_run(report.flow_run_id).tags
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(
                    any_=["arshjul-2027-status", "arshjul-2027-forsenat", "arshjul-misslyckade-utskick"]
                )
            )
        )
    by_key = {a.key: a for a in artifacts}
    assert set(by_key) == {"arshjul-2027-status", "arshjul-2027-forsenat", "arshjul-misslyckade-utskick"}
    with get_client(sync_client=True) as client:
        (checkpoint,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["arshjul-granskningslogg-kontrollpunkt"]))
        )
    assert "daglig kontroll 2027-03-09" in checkpoint.data and "Senaste post" in checkpoint.data
    assert "Månadsrapport per februari 2027" in by_key["arshjul-2027-forsenat"].data
    with Session(runtime.engine()) as session:
        outbox = session.exec(
            select(OutboxMessage).where(OutboxMessage.instance_id == report.id, OutboxMessage.kind == "overdue")
        ).all()
        audit = session.exec(
            select(AuditEntry).where(AuditEntry.instance_id == report.id, AuditEntry.action == "step.overdue")
        ).all()
    assert len(outbox) == 1 and outbox[0].recipient_key == "erik.ekonom" and len(audit) == 1
    # A second sweep the same day adds nothing.
    again = daily_sweep(day="2027-03-09")
    assert (again["overdue"], again["reminders"], again["escalations"]) == (0, 0, 0)
    with Session(runtime.engine()) as session:
        mailed = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "checkpoint")).all()
    assert len(mailed) == 1 and mailed[0].recipient == "revisorerna@example.se"  # once for the day's head
    # Not on a holiday.
    assert daily_sweep(day="2027-03-26") == {"day": "2027-03-26", "working_day": False}
