"""Prefect events about steps, for operators to attach automations to
(`arshjul.step.opened`, `.submitted`, `.approved`, `.returned`, `.overdue`, `.escalated`,
`.deadline_moved`)."""

from __future__ import annotations

from prefect.events import emit_event

from models.tables import StepInstance


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


def emit_step_event(kind: str, step: StepInstance, *, flow_run_id: str | None = None, payload: dict | None = None) -> None:
    related = []
    if flow_run_id or step.flow_run_id:
        related.append({"prefect.resource.id": f"prefect.flow-run.{flow_run_id or step.flow_run_id}", "prefect.resource.role": "flow-run"})
    emit_event(event=f"arshjul.step.{kind}", resource=step_resource(step), related=related, payload=payload or {})
