"""The dashboard in a real browser: ``fraudstack dashboard`` serving, headless Chromium capturing.

Each view is loaded by its URL (``?view=``), awaited until Streamlit has finished the run and
every chart has drawn, and screenshotted into ``test-artifacts/dashboard/`` (kept for people
to look at). A view passes when the page shows its heading, no exception box or traceback,
a chart for every view that has one, and a PNG that is not blank.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from fraudstack.settings import Settings
from tests.dashboard.browser import Chromium
from tests.support import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "dashboard"
#: view slug -> (heading, text only that view shows once its data rendered, charts it draws)
VIEWS = {
    "overview": ("Overview", "Transaction value", 1),
    "operations": ("Operations", "Break fraud down by", 3),
    "performance": ("Model performance", "Precision (range)", 2),
    "health": ("Model health", "Precision per day, by model version", 1),  # no drift rows in known data
    "trends": ("Trends", "Frauds by type per day", 2),
    "alerts": ("Alert investigation", "Reason codes", 2),
}


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium, installed by tools/install-system-deps.sh when it is missing."""
    if shutil.which("chromium") is None:
        result = subprocess.run(
            ["bash", str(REPO / "tools" / "install-system-deps.sh")],
            capture_output=True,
            text=True,
            check=False,
        )
        if shutil.which("chromium") is None:
            pytest.fail(f"chromium is missing and could not be installed: {result.stderr.strip()}")
    return str(shutil.which("chromium"))


@pytest.fixture(scope="module")
def dashboard_url(known: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``fraudstack dashboard`` on a free port, serving the known data; stopped afterwards."""
    port = free_port()
    log = tmp_path_factory.mktemp("dashboard") / "streamlit.log"
    # Outside the checkout and with no PYTHONPATH: the installed package alone serves the app.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | known.subprocess_env()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fraudstack", "dashboard", "--port", str(port)],
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Streamlit's health endpoint answers ``ok`` once the server can serve sessions."""

    def healthy() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"fraudstack dashboard exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                return bool(response.read().decode().strip() == "ok")
        except OSError:
            return False

    wait_until(healthy, timeout, lambda: f"the dashboard healthy:\n{log.read_text()}", interval=0.5)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Chromium]:
    session = Chromium(chromium)
    try:
        yield session
    finally:
        session.close()


def _not_blank(png: Path) -> None:
    image = Image.open(png).convert("RGB")
    assert image.size == (1600, 1200)
    colours = image.resize((400, 300)).getcolors(maxcolors=1 << 16) or []
    assert len(colours) > 50, f"{png.name} looks blank ({len(colours)} colours)"
    assert max(ImageStat.Stat(image).stddev) > 10, f"{png.name} has almost no contrast"


def test_the_server_binds_to_loopback_by_default(dashboard_url: str) -> None:
    assert dashboard_url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("view", list(VIEWS))
def test_each_view_renders_in_chromium(browser: Chromium, dashboard_url: str, view: str) -> None:
    heading, marker, charts = VIEWS[view]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = f"{dashboard_url}/?view={view}"
    if view == "overview":
        browser.capture(url, ARTIFACTS / "warmup.png")  # first load: static assets, caches
    png = ARTIFACTS / f"{view}.png"
    page = browser.capture(url, png)
    assert heading in page.text and marker in page.text, page.text[:2000]
    for failure in ("Traceback", "Warehouse unreachable", "rejected a dashboard query"):
        assert failure not in page.text, page.text[:2000]
    assert page.exceptions == 0
    assert page.charts == charts
    _not_blank(png)
