"""Headless Chromium driven over the DevTools protocol on a pipe, for real screenshots.

Why not ``chromium --screenshot``: it captures at the page's ``load`` event, and a Streamlit
page only renders after its websocket delivers the script run - the capture is a blank
skeleton (``--virtual-time-budget`` does not wait for websocket traffic). Over
``--remote-debugging-pipe`` (file descriptors 3 and 4, NUL-terminated JSON) the test can wait
until the app has finished running and its charts are drawn, then capture - with no extra
Python dependency and no debugging port to secure.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import wait_until

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

#: Done when the app shows content, the "running" status is gone and every chart has drawn.
_SETTLED = """(() => {
  const app = document.querySelector('[data-testid="stMain"]');
  if (!app || !app.innerText.trim()) return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const charts = document.querySelectorAll('.vega-embed');
  return [...charts].every(c => c.querySelector('canvas, svg.marks'));
})()"""


@dataclass(frozen=True)
class Page:
    """What a captured page showed: its visible text, charts drawn, exception boxes."""

    text: str
    charts: int
    exceptions: int


class Chromium:
    """One headless browser; :meth:`capture` loads a URL, waits for it to settle, screenshots it."""

    def __init__(self, binary: str, *, width: int = 1600, height: int = 1200) -> None:
        self._profile = tempfile.mkdtemp(prefix="fraudstack-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_fds() -> None:  # in the child: DevTools reads fd 3, writes fd 4
            read, write = os.dup(to_browser_r), os.dup(from_browser_w)  # above 4: no clobbering
            os.dup2(read, 3)
            os.dup2(write, 4)

        self._proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self._profile}", f"--window-size={width},{height}",
             "--remote-debugging-pipe", "about:blank"],
            preexec_fn=wire_fds,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._size = (width, height)

    def _send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium exited (code {self._proc.poll()}) during {method}")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def capture(self, url: str, png: Path, *, timeout: float = 60.0) -> Page:
        """Screenshot ``url`` into ``png`` once settled; returns what the page showed."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        width, height = self._size
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        self._send("Page.enable", {}, session)
        self._send("Page.navigate", {"url": url}, session)
        settled_since: list[float] = []

        def settled() -> bool:
            if not self._evaluate(_SETTLED, session):
                settled_since.clear()
                return False
            settled_since[:] = settled_since or [time.monotonic()]
            return time.monotonic() - settled_since[0] >= 1.0  # stayed settled: no late rerun or redraw

        wait_until(settled, timeout, f"{url} finished rendering", interval=0.25)
        shot = self._send("Page.captureScreenshot", {"format": "png"}, session)
        png.write_bytes(base64.b64decode(shot["data"]))
        page = Page(
            text=str(self._evaluate("document.body.innerText", session)),
            charts=int(self._evaluate("document.querySelectorAll('.vega-embed').length", session)),
            exceptions=int(
                self._evaluate("document.querySelectorAll('[data-testid=\"stException\"]').length", session)
            ),
        )
        self._send("Target.closeTarget", {"targetId": target})
        return page

    def _evaluate(self, expression: str, session: str) -> Any:
        result = self._send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        return result.get("result", {}).get("value")

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self._send("Browser.close")
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        shutil.rmtree(self._profile, ignore_errors=True)
