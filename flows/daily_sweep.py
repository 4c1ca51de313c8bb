"""The daily sweep (07:00 Europe/Stockholm on working days): reminders, deadline and
overdue notices, escalations and digests go to the outbox; overdue runs are tagged;
the cycle's status is published as artifacts; events let operators automate."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from prefect import flow, get_client, get_run_logger
from sqlmodel import Session

from arshjul.core import clock, runtime
from arshjul.core.database import session_scope
from models import notices as n
from models.queries import live_cycles
from models.steps import audit_change
from models.sweep import candidate_steps, digest_notices, select_due_work
from models.tables import Mode, StepInstance
from tasks.artifacts import publish_failed_mail, publish_status
from tasks.checkpoints import take_checkpoint
from tasks.events import emit_step_event
from tasks.reconcile import reconcile_live
from tasks.steps import resume_waiting_runs, waiting_dependents_of_done_steps

FLOW_NAME = "arshjul-daglig-kontroll"
OVERDUE_TAG = "försenad"


def sweep(today: dt.date, *, mode: Mode = Mode.live) -> dict:
    """Select today's due work and write it to the outbox, audited, in one transaction.
    Returns counts of what was new today, and the steps that became overdue or escalated."""
    now = clock.now()
    with session_scope(runtime.engine()) as session:
        ctx = runtime.step_context(session=session, mode=mode)
        steps = candidate_steps(session=session, today=today, mode=mode)
        selection = select_due_work(steps, today, ctx)
        digests = digest_notices(session=session, today=today, ctx=ctx, mode=mode, today_notices=selection.notices)
        new_keys = n.enqueue(
            selection.notices + digests,
            session=session,
            directory=ctx.directory,
            now=now,
            mail_domain=ctx.mail_domain,
            mode=mode,
        )
        new = [notice for notice in selection.notices if notice.key(mode) in new_keys]
        by_id = {step.id: step for step in steps}
        for notice in new:
            if notice.kind in (n.REMINDER, n.ESCALATION, n.OVERDUE, n.DUE_TODAY):
                step = by_id[notice.instance_id]
                audit_change(
                    step,
                    {n.ESCALATION: "step.escalated", n.OVERDUE: "step.overdue"}.get(notice.kind, "step.reminded"),
                    session=session,
                    now=now,
                    actor="system",
                    source="sweep",
                    before=None,
                    after={
                        "kind": notice.kind,
                        "stage": notice.stage,
                        "to": notice.recipient_key,
                        "on_behalf_of": notice.on_behalf_of,
                    }
                    | notice.context,
                )
    counts = Counter(notice.kind for notice in new)
    newly_overdue = [by_id[x.instance_id] for x in new if x.kind == n.OVERDUE]
    escalated = [(by_id[x.instance_id], x) for x in new if x.kind == n.ESCALATION]
    return {
        "day": today.isoformat(),
        "reminders": counts[n.REMINDER] + counts[n.DUE_TODAY],
        "overdue": counts[n.OVERDUE],
        "escalations": counts[n.ESCALATION],
        "digests": sum(1 for key in new_keys if ":digest:" in key),
        "newly_overdue": newly_overdue,
        "escalated": escalated,
    }


def tag_overdue_runs(steps: list[StepInstance]) -> None:
    """Business lateness shows on the run itself (Prefect's own "Late" means a late start)."""
    with get_client(sync_client=True) as client:
        for step in steps:
            if step.flow_run_id:
                run = client.read_flow_run(step.flow_run_id)
                if OVERDUE_TAG not in run.tags:
                    client.update_flow_run(run.id, tags=[*run.tags, OVERDUE_TAG])


@flow(name=FLOW_NAME)
def daily_sweep(day: str | None = None) -> dict:
    """Remind, escalate and publish the cycle status for one working day (default: today)."""
    logger = get_run_logger()
    definition = runtime.definition()
    calendar = definition.organisation.calendar
    today = dt.date.fromisoformat(day) if day else calendar.local_date(clock.now())
    reason = calendar.non_working_reason(today)
    if reason:
        logger.info("%s är ingen arbetsdag (%s): inga påminnelser i dag.", today, reason)
        return {"day": today.isoformat(), "working_day": False}
    result = sweep(today)
    for step in result["newly_overdue"]:
        emit_step_event("overdue", step, payload={"due": step.due.isoformat()})
    for step, notice in result["escalated"]:
        emit_step_event(
            "escalated",
            step,
            payload={
                "to": notice.recipient_key,
                "stage": notice.stage,
                "working_days_late": notice.context.get("working_days_late"),
            },
        )
    tag_overdue_runs(result["newly_overdue"])
    healed = reconcile_live(orphaned=False)
    if healed:
        logger.warning("Avstämningen rättade %s körningar eller svar (se granskningsloggen, källa avstämning).", healed)
    with Session(runtime.engine()) as session:
        cycles = live_cycles(session=session, organisation=definition.organisation.info.key)
    for cycle in cycles:
        woken = resume_waiting_runs(waiting_dependents_of_done_steps(cycle.id))
        if woken:
            logger.info("Väckte %s steg vars beroenden nu är klara.", len(woken))
        publish_status(cycle.id, today)
    # The day's checkpoint of the audit log, signed and kept outside the database.
    written = take_checkpoint(f"daglig kontroll {today.isoformat()}")
    logger.info(
        "Granskningsloggens kontrollpunkt: post %s, %s poster.", written.record["last_id"], written.record["count"]
    )
    failed = publish_failed_mail()
    if failed:
        logger.warning(
            "%s e-postmeddelanden har inte gått fram: "
            "se artefakten arshjul-misslyckade-utskick eller `arshjul mail failed`.",
            failed,
        )
    logger.info(
        "%s: %s påminnelser, %s nya förseningar, %s eskaleringar, %s sammanfattningar till utkorgen.",
        today,
        result["reminders"],
        result["overdue"],
        result["escalations"],
        result["digests"],
    )
    return {key: value for key, value in result.items() if key not in ("newly_overdue", "escalated")}
