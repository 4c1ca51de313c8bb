"""The reconciler as a flow: every live cycle's steps against their runs, healed.

Started when Prefect marks a step run Crashed (its zombie detection, from the missing
heartbeats: a trigger on the deployment), every ten minutes as a safety net, and by the
daily sweep; `arshjul serve` and the simulation reconcile at their start as well."""

from __future__ import annotations

from prefect import flow, get_run_logger

from tasks.reconcile import reconcile_live

FLOW_NAME = "arshjul-avstamning"
# Crashed step runs start the reconciler (the trigger of its deployment).
CRASHED_STEP_RUN = {
    "expect": ["prefect.flow-run.Crashed"],
    "match": {"prefect.resource.id": "prefect.flow-run.*"},
    "match_related": {"prefect.resource.role": "flow", "prefect.resource.name": "arshjul-steg"},
}


@flow(name=FLOW_NAME)
def reconcile_runs() -> int:
    """Put every step run back in line with its step (the app database is the truth)."""
    logger = get_run_logger()
    healed = reconcile_live(orphaned=False)
    if healed:
        logger.warning("Avstämningen rättade %s körningar eller svar (granskningsloggen, källa avstämning).", healed)
    else:
        logger.info("Alla stegkörningar stämmer med stegen.")
    return healed
