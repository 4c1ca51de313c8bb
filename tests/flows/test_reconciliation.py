"""The reconciler through the real Prefect API: runs a crash or a hand in the Prefect UI
left out of line with their steps are healed, each healing audited with the source
`avstämning` and shown to the regionstab; an input Prefect took but the app never
recorded is recorded (or refused) once; a served run SIGKILLed while it records an
approval leaves nothing stuck."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from prefect import get_client
from prefect.settings import PREFECT_API_URL
from prefect.states import Cancelled, Completed, Running
from sqlmodel import Session, select

from arshjul.core import runtime
from models.audit import verify_chain
from models.reconciliation import SOURCE, Heal
from models.tables import AuditEntry, StepState
from tests.conftest import SMALL_ORG
from tests.prefect_support import app_environment, execute, form, instance, no_heartbeats, resume, state_of

pytestmark = pytest.mark.prefect
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def started(prefect_server, tmp_path):
    """A fresh app database with the small organisation's cycle 2027 and its runs; the
    regionplan submitted, its run waiting for the decision."""
    from flows.run_step import run_step
    from flows.start_cycle import start_cycle

    with app_environment(tmp_path, SMALL_ORG), no_heartbeats():
        run_step.to_deployment(name="arshjul").apply()
        cycle_id = start_cycle(2027)["cycle_id"]
        step = instance("regionplan:region")
        execute(step.flow_run_id)
        resume(step.flow_run_id, form("lämna in", "erik.ekonom@example.se"))
        assert execute(step.flow_run_id) == "Suspended"
        assert instance(step.key).state == StepState.submitted
        yield cycle_id


def force(flow_run_id: str, state) -> None:
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, state, force=True)


def entries(instance_id: int, source: str | None = None) -> list[AuditEntry]:
    with Session(runtime.engine()) as session:
        query = select(AuditEntry).where(AuditEntry.instance_id == instance_id)
        if source:
            query = query.where(AuditEntry.source == source)
        return list(session.exec(query.order_by(AuditEntry.id)))


def chain_intact() -> bool:
    with Session(runtime.engine()) as session:
        return verify_chain(session=session)[1] == []


def test_an_approval_prefect_took_but_the_app_never_stored_is_recorded_once(started):
    """The issue's kill: the decider's Resume was accepted, the run started executing it,
    and its process died before the app stored the approval."""
    from tasks.reconcile import reconcile_cycle

    step = instance("regionplan:region")
    resume(step.flow_run_id, form("godkänn", "sigrid.sekreterare@example.se", diarienummer="RF/12/2026"))
    force(step.flow_run_id, Running())  # executing when the process was killed
    healed = reconcile_cycle(started, orphaned=True)
    assert dict(healed.heals)[step.key] in (Heal.input_recorded, Heal.crashed)
    assert Counter(heal for _, heal in healed.heals) == {Heal.input_recorded: 1, Heal.crashed: 1}
    assert instance(step.key).state == StepState.approved
    assert instance(step.key).diarienummer == "RF/12/2026"
    assert state_of(step.flow_run_id).is_scheduled() and step.flow_run_id in healed.to_execute
    assert execute(step.flow_run_id) == "Completed"
    actions = [(entry.action, entry.source) for entry in entries(step.id)]
    assert actions.count(("step.approved", SOURCE)) == 1 and ("run.reconciled", SOURCE) in actions
    assert sum(1 for action, _ in actions if action == "step.approved") == 1
    assert reconcile_cycle(started, orphaned=True).heals == []  # nothing left to heal
    assert chain_intact()


def test_an_input_that_no_longer_applies_is_refused_audited_and_asked_again(started):
    from tasks.reconcile import reconcile_cycle

    step = instance("regionplan:region")
    # The owner who submitted may not decide their own step: Prefect took the input, the
    # app would have refused it.
    resume(step.flow_run_id, form("godkänn", "erik.ekonom@example.se", diarienummer="RF/12/2026"))
    healed = reconcile_cycle(started, orphaned=True)
    assert healed.heals == [(step.key, Heal.input_recorded)]
    refused = [entry for entry in entries(step.id, SOURCE) if entry.action == "step.input_rejected"]
    assert len(refused) == 1 and refused[0].comment
    assert instance(step.key).state == StepState.submitted
    assert instance(step.key).input_round == step.input_round + 1
    assert execute(step.flow_run_id) == "Suspended"  # the run asks for the decision again
    assert state_of(step.flow_run_id).state_details.run_input_keyset
    assert chain_intact()


@pytest.mark.parametrize("forced", [Completed, Cancelled], ids=["completed-by-hand", "cancelled-by-hand"])
def test_a_state_forced_in_the_prefect_ui_is_put_back_in_line(started, forced):
    from tasks.artifacts import heals_markdown
    from tasks.reconcile import reconcile_cycle

    step = instance("regionplan:region")
    force(step.flow_run_id, forced())
    healed = reconcile_cycle(started, orphaned=False)
    assert healed.heals == [(step.key, Heal.ended_early)]
    (entry,) = entries(step.id, SOURCE)
    assert entry.action == "run.reconciled" and entry.flow_run_id == step.flow_run_id
    assert entry.before["run_state"] == forced().type.value and entry.after["heal"] == "ended_early"
    assert execute(step.flow_run_id) == "Suspended"  # waiting for the decision again
    assert instance(step.key).state == StepState.submitted
    from models.reconciliation import recent_heals
    from models.tables import Cycle

    with Session(runtime.engine(), expire_on_commit=False) as session:
        cycle, heals = session.get(Cycle, started), recent_heals(session=session, cycle_id=started)
    shown = heals_markdown(cycle, heals)
    assert "Regionplan" in shown and "avslutats" in shown


def test_a_done_step_whose_run_still_waits_is_completed(started):
    from models.states import Action
    from tasks.reconcile import reconcile_cycle
    from tasks.steps import apply_action

    step = instance("regionplan:region")
    # Approved elsewhere, and the nudge to the run was lost (a crash right after the commit).
    apply_action(
        step.id,
        Action.approve,
        actor_email="sigrid.sekreterare@example.se",
        comment="",
        diarienummer="RF/12/2026",
        source="cli",
    )
    assert state_of(step.flow_run_id).is_paused()
    assert reconcile_cycle(started, orphaned=False).heals == [(step.key, Heal.finish)]
    assert execute(step.flow_run_id) == "Completed"


def test_a_running_run_of_a_live_executor_is_left_alone(started):
    from tasks.reconcile import reconcile_cycle

    step = instance("regionplan:region")
    force(step.flow_run_id, Running())
    assert reconcile_cycle(started, orphaned=False).heals == []  # recent: its heartbeats speak for it
    assert state_of(step.flow_run_id).is_running()


def test_a_served_run_sigkilled_while_it_records_an_approval_loses_and_strands_nothing(started, tmp_path):
    """A separate process executes the run with Prefect's engine, heartbeats on, as a
    served run does; it is killed inside the recording of the decision (after Prefect
    accepted the Resume). `arshjul serve`, starting again, reconciles before serving."""
    from tasks.reconcile import reconcile_live

    step = instance("regionplan:region")
    resume(step.flow_run_id, form("godkänn", "sigrid.sekreterare@example.se", diarienummer="RF/12/2026"))
    marker = tmp_path / "recording"
    env = dict(
        os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PREFECT_FLOWS_HEARTBEAT_FREQUENCY="30", MARKER=str(marker)
    )
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "hanging_step_run.py"), step.flow_run_id], env=env, cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            assert process.poll() is None, "the run's process ended before it recorded the decision"
            assert time.monotonic() < deadline, "the run's process never reached the recording"
            time.sleep(0.2)
        assert state_of(step.flow_run_id).is_running()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert instance(step.key).state == StepState.submitted  # nothing recorded: the kill came first
    # What `arshjul serve` does at its start (the embedded default: its runner is the only executor).
    assert reconcile_live(orphaned=True) == 2  # the approval recorded, the run crashed and rescheduled
    assert instance(step.key).state == StepState.approved
    assert execute(step.flow_run_id) == "Completed"
    approvals = [entry for entry in entries(step.id) if entry.action == "step.approved"]
    assert [entry.source for entry in approvals] == [SOURCE]
    assert not state_of(step.flow_run_id).is_running()
    assert chain_intact()


def test_zombie_detection_is_created_once(prefect_server):
    from prefect.automations import Automation

    from tasks.reconcile import ZOMBIE_AUTOMATION, ensure_zombie_detection

    ensure_zombie_detection()
    assert ensure_zombie_detection() is False  # there already
    automation = Automation.read(name=ZOMBIE_AUTOMATION)
    trigger = automation.trigger
    assert trigger.after == {"prefect.flow-run.heartbeat"}
    # A run that suspends or ends stops the watch: only a silent run is marked Crashed.
    assert {"prefect.flow-run.Suspended", "prefect.flow-run.Completed"} <= trigger.expect
    assert automation.actions[0].state.value == "CRASHED"


def test_a_run_killed_the_moment_it_suspends_for_its_form_can_still_be_answered(started, tmp_path):
    """The kill that stranded the restarted simulation's steps: Prefect had suspended the
    run for its form, and the process died before it saved the form's schema; the Resume
    endpoint then refused every answer ("Run input schema not found") and the step stood
    open for good. The form is saved before the run suspends."""
    step = instance("regionplan:region")
    # The owner may not decide their own step: refused, and the run asks again.
    resume(step.flow_run_id, form("godkänn", "erik.ekonom@example.se", diarienummer="RF/12/2026"))
    marker = tmp_path / "suspended"
    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), MARKER=str(marker))
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "suspending_step_run.py"), step.flow_run_id], env=env, cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            assert process.poll() is None, "the run's process ended before it suspended"
            assert time.monotonic() < deadline, "the run's process never suspended"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert instance(step.key).input_round == step.input_round + 1  # the refusal was recorded
    assert state_of(step.flow_run_id).state_details.run_input_keyset
    answer = resume(step.flow_run_id, form("godkänn", "sigrid.sekreterare@example.se", diarienummer="RF/12/2026"))
    assert answer.status.value == "ACCEPT", answer.details
    assert execute(step.flow_run_id) == "Completed"
    assert instance(step.key).state == StepState.approved


def test_a_run_waiting_for_a_form_prefect_never_got_is_asked_again(started):
    """What an older version left after such a kill: a run Suspended for a form whose
    schema Prefect does not have. The reconciler at an executor's start reschedules it."""
    from prefect.input import keyset_from_base_key

    from tasks.reconcile import reconcile_cycle

    step = instance("regionplan:region")
    with get_client(sync_client=True) as client:
        client.delete_flow_run_input(step.flow_run_id, keyset_from_base_key(f"suspended-r{step.input_round}")["schema"])
    approval = form("godkänn", "sigrid.sekreterare@example.se", diarienummer="RF/12/2026")
    assert resume(step.flow_run_id, approval).status.value == "REJECT"  # nobody can answer it
    assert reconcile_cycle(started, orphaned=False).heals == []  # a live run saves its form first
    healed = reconcile_cycle(started, orphaned=True)
    assert healed.heals == [(step.key, Heal.form_lost)] and step.flow_run_id in healed.to_execute
    (entry,) = entries(step.id, SOURCE)
    assert entry.after["heal"] == "form_lost" and "formulär" in entry.comment
    assert execute(step.flow_run_id) == "Suspended"  # it asks again, under a fresh round
    assert instance(step.key).input_round == step.input_round + 1
    assert resume(step.flow_run_id, approval).status.value == "ACCEPT"
    assert execute(step.flow_run_id) == "Completed"
    assert instance(step.key).state == StepState.approved
    assert chain_intact()
