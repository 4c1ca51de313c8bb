"""A step run executed in its own process with Prefect's engine (as a served run or a
worker's child executes it, heartbeats on), whose recording of the form's answer never
returns: the test SIGKILLs it there, after Prefect accepted the Resume and before the
app stored anything. Usage: hanging_step_run.py FLOW_RUN_ID (MARKER: a file to create
once it hangs)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from prefect import get_client

import flows.run_step as step_flow
from flows.prefect_internals import run_flow


def hang(*args, **kwargs):
    Path(os.environ["MARKER"]).touch()
    time.sleep(3600)


if __name__ == "__main__":
    step_flow.record_input = hang
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(sys.argv[1])
    run_flow(step_flow.run_step, flow_run=run, parameters=run.parameters, return_type="state")
