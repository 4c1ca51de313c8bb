"""Prefect events about steps, for operators to attach automations to
(`arshjul.step.opened`, `.submitted`, `.approved`, `.returned`, `.overdue`, `.escalated`,
`.deadline_moved`)."""

from __future__ import annotations

import logging

from prefect.events import emit_event

from models.tables import StepInstance

log = logging.getLogger(__name__)


def step_resource(step: StepInstance, year: int | None = None) -> dict[str, str]:
    resource = {
        "prefect.resource.id": f"arshjul.step.{step.id}",
        "prefect.resource.name": f"{step.name} · {step.unit_name}",
        "arshjul.step": step.step,
        "arshjul.unit": step.unit,
        "arshjul.process": step.process,
        "arshjul.level": step.level,
        "arshjul.owner": step.owner or "",
        "arshjul.due": step.due.isoformat(),
    }
    if year is not None:
        resource["arshjul.year"] = str(year)
    return resource


def emit_step_event(
    kind: str, step: StepInstance, *, flow_run_id: str | None = None, payload: dict | None = None
) -> None:
    """Best effort: an event that cannot be sent is logged, never fails the change it
    reports (that change is already committed and audited)."""
    related = []
    if flow_run_id or step.flow_run_id:
        related.append(
            {
                "prefect.resource.id": f"prefect.flow-run.{flow_run_id or step.flow_run_id}",
                "prefect.resource.role": "flow-run",
            }
        )
    try:
        emit_event(event=f"arshjul.step.{kind}", resource=step_resource(step), related=related, payload=payload or {})
    except Exception:  # noqa: BLE001 - see docstring
        log.warning("could not emit arshjul.step.%s for step %s", kind, step.id, exc_info=True)
