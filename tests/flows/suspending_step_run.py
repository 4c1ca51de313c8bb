"""A step run executed in its own process with Prefect's engine, which hangs the moment
Prefect has suspended it to wait for its form: the test SIGKILLs it there, as a kill
may land between the suspension and whatever the run did next. Usage:
suspending_step_run.py FLOW_RUN_ID (MARKER: a file to create once it hangs)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from prefect import get_client

import flows.run_step as step_flow
import flows.suspension as suspension
from flows.prefect_internals import run_flow

propose = suspension.propose_state_sync


def propose_then_hang(*args, **kwargs):
    state = propose(*args, **kwargs)
    if state.is_paused() and state.state_details.run_input_keyset:
        Path(os.environ["MARKER"]).touch()
        time.sleep(3600)
    return state


if __name__ == "__main__":
    suspension.propose_state_sync = propose_then_hang
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(sys.argv[1])
    run_flow(step_flow.run_step, flow_run=run, parameters=run.parameters, return_type="state")
