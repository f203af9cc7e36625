"""The report page loads in real headless Chromium and makes no network request of its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def page_requests(page: Path, workdir: Path) -> tuple[str, list[str]]:
    """Load ``page`` headless; return its DOM and the URLs the page itself asked for (from Chromium's net log).

    The browser's own background traffic (update checks...) is told apart by its
    network isolation key: requests of a file:// page carry "file://" there.
    """
    netlog = workdir / "netlog.json"
    cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-extensions",
           f"--user-data-dir={workdir / 'profile'}", f"--log-net-log={netlog}", "--dump-dom", page.as_uri()]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr[-2000:]
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = [e["params"]["url"] for e in log["events"]
            if e["type"] == start and str(e.get("params", {}).get("network_isolation_key", "")).startswith("file://")
            and not e["params"]["url"].startswith(("file:", "data:"))]
    return run.stdout, urls


@pytest.fixture
def chromium():
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip("chromium is not installed")
    return CHROMIUM


def test_detector_sees_external_requests(chromium, tmp_path):
    # The check below is only worth something if it catches a page that does fetch from outside.
    page = tmp_path / "external.html"
    page.write_text('<html><body><img src="http://example.invalid/x.png"></body></html>')
    _, urls = page_requests(page, tmp_path)
    assert urls == ["http://example.invalid/x.png"]


def test_report_loads_without_external_requests(chromium, analysed, tmp_path):
    _, out, _ = analysed
    dom, urls = page_requests(out / "report.html", tmp_path)
    assert urls == []
    # every figure the analysis wrote is in the page, as an embedded image
    assert "Published vs reproduced" in dom and dom.count("<img") == len(list((out / "figures").glob("*.png"))) == 7
