"""The README's start command on a "fresh machine": ``gridmap serve`` with an empty home (no
Streamlit credentials file) and an empty data folder creates the demo street and serves the
app without stopping to ask anything."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from _services import free_port
from gridmap.db import make_engine
from gridmap.repository import layer_counts

REPO_ROOT = Path(__file__).resolve().parents[2]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except OSError:
        return 0, ""


def test_gridmap_serve_starts_on_a_fresh_machine(tmp_path: Path) -> None:
    port = free_port()
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDMAP_", "STREAMLIT_"))}
    env |= {"HOME": str(home), "GRIDMAP_DATA_DIR": str(data), "BROWSER": "true"}
    env.pop("DISPLAY", None)
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(  # not headless: as a user types it, "open the browser"
            [sys.executable, "-m", "gridmap", "serve", "--port", str(port)],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline, status = time.monotonic() + 150, 0
            while time.monotonic() < deadline and server.poll() is None:
                status, _ = _get(f"http://127.0.0.1:{port}/_stcore/health")
                if status == 200:
                    break
                time.sleep(1)
            output = log.read_text(encoding="utf-8", errors="replace")
            assert status == 200, f"gridmap serve did not come up:\n{output}"
            page_status, page = _get(f"http://127.0.0.1:{port}/")
            assert page_status == 200 and "<html" in page.lower()
            assert "Email" not in output and "email" not in output
        finally:
            server.terminate()
            server.wait(timeout=30)
    counts = layer_counts(make_engine(f"sqlite:///{data / 'gridmap.db'}"))
    assert counts["grid"] > 0 and counts["user"] > 0  # the demo street and its logins
