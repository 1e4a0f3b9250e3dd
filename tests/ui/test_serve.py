"""The README's start command on a "fresh machine": ``gridmap serve`` with an empty home (no
Streamlit credentials file) and an empty data folder creates the demo street and serves the
app without stopping to ask anything."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
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


def _served_from(port: int) -> str:
    """Where the app process that listens on ``port`` runs from (its command line)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "streamlit" in cmdline and str(port) in cmdline:
            return cmdline
    return ""


def _listen_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on ``port`` (from /proc/net/tcp[6])."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            host, hex_port = local.rsplit(":", 1)
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            if len(host) == 8:
                found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(host)[::-1]))
            else:
                words = [bytes.fromhex(host[i : i + 8])[::-1] for i in range(0, 32, 8)]
                found.add(socket.inet_ntop(socket.AF_INET6, b"".join(words)))
    return found


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _stop_group(server: subprocess.Popen) -> None:
    """SIGTERM to the whole process group, SIGKILL after 30 s, and wait until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(server.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)


def test_gridmap_serve_starts_on_a_fresh_machine(tmp_path: Path) -> None:
    port = free_port()
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDMAP_", "STREAMLIT_"))}
    env |= {"HOME": str(home), "GRIDMAP_DATA_DIR": str(data), "BROWSER": "true"}
    env["PYTHONPATH"] = str(REPO_ROOT)  # this checkout, whatever else is installed
    env.pop("DISPLAY", None)
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(  # not headless: as a user types it, "open the browser"
            [sys.executable, "-m", "gridmap", "serve", "--port", str(port)],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Streamlit goes down with it
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
            assert str(REPO_ROOT) in _served_from(port), "served from another installation"
            assert _listen_addresses(port) == {"127.0.0.1"}  # this machine only, by default
            server.terminate()  # what a user's kill does: to the one process they started
            server.wait(timeout=30)
            assert not _listening(port), "the Streamlit server outlived gridmap serve"
        finally:
            _stop_group(server)
    counts = layer_counts(make_engine(f"sqlite:///{data / 'gridmap.db'}"))
    assert counts["grid"] > 0 and counts["user"] > 0  # the demo street and its logins


def test_first_start_without_users_asks_for_the_admin_password_in_a_terminal(
    tmp_path: Path, demo_db_url: str
) -> None:
    """``gridmap serve`` on a database without users, typed in a real terminal (a pty):
    it asks for the first administrator's password twice, creates the account, then serves."""
    import pty

    from gridmap import auth
    from gridmap.db import init_database

    db = tmp_path / "new.db"
    engine = make_engine(f"sqlite:///{db}", create=True)
    init_database(engine)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDMAP_", "STREAMLIT_"))}
    env |= {"HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    leader, follower = pty.openpty()
    server = subprocess.Popen(
        [sys.executable, "-m", "gridmap", "serve", "--headless", "--port", str(port),
         "--db", f"sqlite:///{db}"],
        cwd=tmp_path, env=env, stdin=follower, stdout=follower, stderr=follower,
        start_new_session=True,
    )  # fmt: skip
    os.close(follower)
    screen = b""
    try:
        for prompt, answer in ((b"password:", b"first-admin-pw-2026\n"),
                               (b"confirmation", b"first-admin-pw-2026\n")):  # fmt: skip
            deadline = time.monotonic() + 60
            while prompt not in screen.lower() and time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    screen += os.read(leader, 4096)
            assert prompt in screen.lower(), screen.decode("utf-8", "replace")
            os.write(leader, answer)
        deadline = time.monotonic() + 60
        while b"administrator created" not in screen and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                screen += os.read(leader, 4096)
        assert b"administrator created" in screen, screen.decode("utf-8", "replace")
    finally:
        _stop_group(server)
        os.close(leader)
    found = auth.authenticate(engine, "admin", "first-admin-pw-2026")
    assert found.role == "street_admin"
