"""`arshjul web` in several worker processes (ARSHJUL_WEB_WORKERS): each worker serves
the app on the one port, and each keeps tokens out of the access log — uvicorn starts
the workers afresh, so a redaction installed only in the parent would not be there."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import SMALL_ORG, free_port

FORGED = "eyJmYWtlIjoidG9rZW4ifQ.bm90LWEtc2lnbmF0dXJlLWF0LWFsbA"


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_two_worker_processes_serve_pages_and_keep_tokens_out_of_the_log(tmp_path):
    port = free_port()
    env = dict(
        os.environ,
        ARSHJUL_HOME=str(tmp_path / "home"),
        ARSHJUL_ORG=str(SMALL_ORG),
        ARSHJUL_WEB_PORT=str(port),
        ARSHJUL_WEB_WORKERS="2",
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_API_URL=f"http://127.0.0.1:{free_port()}/api",
    )
    env.pop("ARSHJUL_DATABASE_URL", None)
    log = tmp_path / "web.log"
    with log.open("w") as errors:
        web = subprocess.Popen([sys.executable, "-m", "arshjul", "web"], env=env, stdout=errors, stderr=errors)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/halsa", timeout=2).status_code == 200 and len(_children(web.pid)) >= 2:
                    break
            except httpx.HTTPError:
                pass
            assert web.poll() is None, log.read_text()
            time.sleep(0.3)
        else:
            raise AssertionError(f"arshjul web did not start: {log.read_text()}")
        workers = [pid for pid in _children(web.pid) if "arshjul" in Path(f"/proc/{pid}/cmdline").read_text()
                   or "multiprocessing" in Path(f"/proc/{pid}/cmdline").read_text()]  # fmt: skip
        assert len(workers) >= 2, workers
        pages = [httpx.get(f"{base}/steg/{FORGED}", timeout=30) for _ in range(6)]
        assert all(page.status_code == 403 and "länk" in page.text.lower() for page in pages)
    finally:
        web.terminate()
        web.wait(timeout=60)
    text = log.read_text()
    assert "2 processer" in text, text
    assert FORGED not in text and text.count("/steg/[token]") == len(pages), text  # the workers' log, redacted
