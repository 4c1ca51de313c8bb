"""`arshjul simulate` SIGKILLed at seeded moments and restarted each time, against an
unkilled run of the same seed (benchmarks/kill_simulation.py does the killing and the
comparing; on the region it makes the acceptance's 20 kills): the year completes with the
same steps, decisions and mails, no run is left Running, the audit chain is intact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL

from tests.conftest import SMALL_ORG

pytestmark = [pytest.mark.prefect, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_a_simulation_killed_three_times_ends_the_year_as_an_unkilled_one(prefect_server):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "kill_simulation.py"),
            "--org",
            str(SMALL_ORG),
            "--kills",
            "3",
            "--seed",
            "3",
            "--late-share",
            "0.5",
            "--api-url",
            PREFECT_API_URL.value(),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert figures["kills"] == 3
    assert figures["steps"] == figures["steps_done_equal"] == 15, figures["steps_different"]
    assert figures["mails_unkilled"] > 100
    assert (figures["mails_missing"], figures["mails_extra"], figures["mails_unsent"]) == (0, 0, 0)
    assert figures["runs_left_running"] == 0
    assert figures["audit_verified"] is True
