"""Suspending a step run with a state message.

Prefect's `suspend_flow_run` proposes a bare "Suspended" state. We propose the same state
with a message (what the step waits for, in Swedish), so the UI tells the truth about the
cycle. Everything else follows Prefect's own implementation: a stable `key` per wait, so
that a run re-executed after its resume finds the answer to that wait instead of
suspending again; no timeout, so a step can wait for weeks.

One thing differs from Prefect's order: the form (its schema, which the Resume endpoint
validates every answer against) is saved *before* the run is suspended. Saved after,
a process killed between the two left a run Suspended with a form that no Resume can
ever answer ("Run input schema not found"): the step stood open for good.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import TypeVar

import orjson
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.context import FlowRunContext
from prefect.exceptions import Abort, Pause, PrefectHTTPStatusError
from prefect.input import keyset_from_paused_state
from prefect.input.run_input import RunInput
from prefect.states import Paused

from arshjul.views.markdown import plain_line
from flows.prefect_internals import (
    create_v2_schema,
    is_v2_model,
    mark_flow_run_suspension_requested,
    propose_state_sync,
)

F = TypeVar("F", bound=RunInput)

# The input keys derive from the state name and must be lowercase letters, digits and
# dashes, so a wait for input keeps Prefect's name; a wait without input can say more.
INPUT_STATE_NAME = "Suspended"


def suspend_step(
    key: str, message: str, form: type[F] | None = None, *, state_name: str = INPUT_STATE_NAME
) -> F | None:
    """Suspend the current run until it is resumed (with `form` filled in, if given).

    Returns the form's input (or None) when this wait has already been resumed; otherwise
    raises Pause, which ends this execution of the run."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("suspend_step must be called inside a flow run")
    flow_run_id = context.flow_run.id
    name = INPUT_STATE_NAME if form else state_name
    proposed = Paused(reschedule=True, pause_key=key, name=name, message=plain_line(message))
    keyset = None
    if form is not None:
        keyset = keyset_from_paused_state(proposed)
        proposed.state_details.run_input_keyset = keyset
    # The engine's own client when it has one: a new client costs more than the call.
    engine_client = context.client if isinstance(context.client, SyncPrefectClient) else None
    with nullcontext(engine_client) if engine_client else get_client(sync_client=True) as client:
        if form is not None:
            # Before the suspension: a run never waits for a form Prefect cannot take.
            save_form(form, keyset, client, flow_run_id)
        try:
            state = propose_state_sync(client=client, state=proposed, flow_run_id=flow_run_id)
        except Abort as exc:
            raise RuntimeError(f"the step run cannot be suspended: {exc}") from exc
        if state.is_running():
            # This wait was resumed before: the orchestrator refuses a second suspension
            # with the same key, and the answer is waiting for us.
            return form.load(keyset) if form is not None else None
        if not state.is_paused():
            raise RuntimeError(f"the step run cannot be suspended; the API answered {state!r}")
    mark_flow_run_suspension_requested(flow_run_id, state)
    raise Pause(state=state)


def save_form(form: type[RunInput], keyset: dict, client: SyncPrefectClient, flow_run_id) -> None:
    """`RunInput.save` (the form's schema and description, which the UI's Resume dialog
    reads), through the given client: Prefect's own opens a new client per value."""
    schema = (
        create_v2_schema(form.__name__, model_base=form) if is_v2_model(form) else form.model_json_schema(by_alias=True)
    )
    description = form._description if isinstance(form._description, str) else None
    values = [(keyset["schema"], orjson.dumps(schema).decode())]
    if description:
        values.append((keyset["description"], orjson.dumps(description).decode()))
    for key, value in values:
        try:
            client.create_flow_run_input(flow_run_id=flow_run_id, key=key, value=value)
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code != 409:
                raise
            # Saved by an earlier execution of this wait (the run is re-executed after its
            # Resume): the description went with the schema.
            return
