"""Throwaway services for the test suite: PostgreSQL+PostGIS, a Streamlit server, Chromium.

Plain functions and context managers (no fixtures); ``tests/conftest.py`` wires them in.
Everything here raises :class:`ServiceError` with a clear message when a service cannot
be started: the tests that need it must fail, never skip.

Environment variables (``scripts/test.sh`` exports them):

* ``GRIDMAP_PG_BINDIR`` - PostgreSQL server binaries (default: newest
  ``/usr/lib/postgresql/*/bin``, else the directory of ``initdb`` on ``PATH``).
* ``GRIDMAP_CHROMIUM`` - the Chromium executable Playwright drives (default
  ``/usr/bin/chromium``); Playwright never downloads a browser of its own here.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_SUPERUSER = "postgres"
PG_OS_USER = "postgres"  # initdb/postgres refuse to run as root; we drop to this user
TEST_DB = "gridmap_test"
TEMPLATE_DB = "gridmap_template"  # has PostGIS; new test databases are copied from it
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

# Speed over durability: the cluster is thrown away after the run.
_PG_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",  # TCP only: no clash with a system cluster's socket
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "50",
    "max_wal_size": "256MB",
    "logging_collector": "off",
    "log_min_messages": "warning",
    "timezone": "'Asia/Shanghai'",
}


class ServiceError(RuntimeError):
    """A test service (database, web server, browser) could not be started or used."""


# ----------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the caller may still race for it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _run(cmd: list[str], what: str, log: Path | None = None, cwd: Path | None = None) -> str:
    """Run ``cmd``; on failure raise ServiceError with its output and the log's tail."""
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceError(f"{what}: could not run {cmd[0]}: {exc}") from exc
    if res.returncode != 0:
        msg = f"{what} failed (exit {res.returncode}): {' '.join(cmd)}\n{res.stdout}{res.stderr}"
        if log is not None:
            msg += f"\n--- server log tail ({log}) ---\n{_tail(log)}"
        raise ServiceError(msg)
    return res.stdout


# --------------------------------------------------------------------- PostgreSQL/PostGIS


def pg_bindir() -> Path:
    """Where initdb/pg_ctl/postgres live; raise ServiceError if they cannot be found."""
    if env := os.environ.get("GRIDMAP_PG_BINDIR"):  # explicit: use it or fail
        candidates = [Path(env)]
    else:
        candidates = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"),
            key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
            reverse=True,
        )
        if which := shutil.which("initdb"):
            candidates.append(Path(which).resolve().parent)
    for d in candidates:
        if all((d / b).is_file() for b in ("initdb", "pg_ctl", "postgres")):
            return d
    raise ServiceError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
        f"{[str(c) for c in candidates] or 'any candidate'}; set GRIDMAP_PG_BINDIR or "
        "`apt-get install postgresql-15-postgis-3` (scripts/test.sh does this)."
    )


def _as_pg_user() -> list[str]:
    """Command prefix that runs a server binary as a non-root user."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", PG_OS_USER, "--"]


def _pg_user_can_reach(path: Path) -> bool:
    """Whether the postgres OS user can traverse into ``path`` (pytest's tmp dirs are 0700)."""
    res = subprocess.run(
        [*_as_pg_user(), "test", "-w", str(path)], capture_output=True, timeout=30, check=False
    )
    return res.returncode == 0


def _connect(url_or_conninfo: str, **kw: Any):
    import psycopg  # local import: only database tests need it

    return psycopg.connect(url_or_conninfo, autocommit=True, connect_timeout=10, **kw)


@dataclass
class PostgisCluster:
    """A running throwaway cluster. ``url`` is the SQLAlchemy URL of ``gridmap_test``."""

    base_dir: Path  # holds data/ and server.log; removed by stop()
    port: int
    bindir: Path
    host: str = "127.0.0.1"
    dbname: str = TEST_DB
    _stopped: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "server.log"

    def url_for(self, dbname: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{PG_SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str | None = None) -> str:
        """libpq connection string, for psycopg.connect / psql."""
        return (
            f"host={self.host} port={self.port} user={PG_SUPERUSER} dbname={dbname or self.dbname}"
        )

    @property
    def url(self) -> str:
        return self.url_for(self.dbname)

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` maintenance database (for CREATE DATABASE)."""
        return self.url_for("postgres")

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)

    def stop(self) -> None:
        """Stop the server (immediate shutdown) and delete its directory. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                [*_as_pg_user(), str(self.bindir / "pg_ctl"), "-D", str(self.data_dir),
                 "-m", "immediate", "-w", "-t", "30", "stop"],
                capture_output=True, check=False, cwd="/", timeout=60,
            )  # fmt: skip
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _cluster_base_dir(tmp_dir: Path) -> Path:
    """A fresh directory under ``tmp_dir`` owned by (and reachable for) the server's user."""
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    for parent in (tmp_dir, Path(tempfile.gettempdir()), Path("/tmp")):
        base = Path(tempfile.mkdtemp(prefix="gridmap-pg-", dir=parent))
        if os.geteuid() == 0:
            try:
                shutil.chown(base, PG_OS_USER, PG_OS_USER)
            except LookupError as exc:
                shutil.rmtree(base, ignore_errors=True)
                raise ServiceError(
                    f"running as root but there is no '{PG_OS_USER}' OS user to run the "
                    "server as; install postgresql-15-postgis-3 (scripts/test.sh does this)"
                ) from exc
            if not _pg_user_can_reach(base):  # e.g. /tmp/pytest-of-root is mode 0700
                shutil.rmtree(base, ignore_errors=True)
                continue
        return base
    raise ServiceError(f"no directory reachable by OS user '{PG_OS_USER}' for the cluster")


def start_postgis_cluster(tmp_dir: Path) -> PostgisCluster:
    """initdb + start a throwaway cluster on a free 127.0.0.1 port, with database
    ``gridmap_test`` that has PostGIS. Raises ServiceError (with the server log tail)
    on any failure. Call ``.stop()`` when done (also done at interpreter exit)."""
    bindir = pg_bindir()
    base = _cluster_base_dir(tmp_dir)
    cluster = PostgisCluster(base_dir=base, port=0, bindir=bindir)
    atexit.register(cluster.stop)
    try:
        _run(
            [*_as_pg_user(), str(bindir / "initdb"), "-D", str(cluster.data_dir),
             "-U", PG_SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
             "--no-sync", "--no-instructions"],
            "initdb",
            cwd=base,  # the postgres user may not be able to read the caller's cwd
        )  # fmt: skip
        conf = cluster.data_dir / "postgresql.conf"
        for attempt in range(3):  # the free port can be taken between probe and bind
            cluster.port = free_port()
            settings = {**_PG_SETTINGS, "port": str(cluster.port)}
            with conf.open("a", encoding="utf-8") as f:  # later lines override earlier
                f.write("\n# gridmap test cluster\n")
                f.writelines(f"{k} = {v}\n" for k, v in settings.items())
            try:
                _run(
                    [*_as_pg_user(), str(bindir / "pg_ctl"), "-D", str(cluster.data_dir),
                     "-l", str(cluster.log_path), "-w", "-t", "60", "start"],
                    f"starting PostgreSQL on 127.0.0.1:{cluster.port}",
                    log=cluster.log_path,
                    cwd=base,
                )  # fmt: skip
                break
            except ServiceError:
                if attempt == 2 or "could not bind" not in cluster.log_tail():
                    raise
        _create_template(cluster)
        create_database(cluster, TEST_DB)
    except ServiceError:
        cluster.stop()
        raise
    except Exception as exc:
        log = cluster.log_tail()
        cluster.stop()
        raise ServiceError(f"PostGIS test cluster failed to start: {exc}\n{log}") from exc
    except BaseException:  # e.g. KeyboardInterrupt: clean up, don't disguise it
        cluster.stop()
        raise
    return cluster


def _create_template(cluster: PostgisCluster) -> None:
    try:
        with _connect(cluster.conninfo("postgres")) as conn:
            conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
        with _connect(cluster.conninfo(TEMPLATE_DB)) as conn:
            conn.execute("CREATE EXTENSION postgis")
        with _connect(cluster.conninfo("postgres")) as conn:
            conn.execute(f'ALTER DATABASE "{TEMPLATE_DB}" WITH IS_TEMPLATE true')
    except Exception as exc:
        raise ServiceError(
            f"could not create the PostGIS template database: {exc}\n"
            "(is postgresql-15-postgis-3 installed for the server in "
            f"{cluster.bindir}?)\n--- server log tail ---\n{cluster.log_tail()}"
        ) from exc


def create_database(cluster: PostgisCluster, name: str) -> str:
    """Create a fresh database ``name`` with PostGIS (copied from the template, ~0.1 s)
    and return its SQLAlchemy URL. Raises ServiceError if it exists or creation fails."""
    from psycopg import sql

    try:
        with _connect(cluster.conninfo("postgres")) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(TEMPLATE_DB)
                )
            )
    except Exception as exc:
        raise ServiceError(f"could not create database {name!r}: {exc}") from exc
    return cluster.url_for(name)


def drop_database(cluster: PostgisCluster, name: str) -> None:
    """Drop database ``name``, disconnecting any sessions still in it."""
    from psycopg import sql

    with _connect(cluster.conninfo("postgres")) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextlib.contextmanager
def postgis_cluster(tmp_dir: Path) -> Iterator[PostgisCluster]:
    """``with postgis_cluster(tmp) as pg: engine = create_engine(pg.url)``"""
    cluster = start_postgis_cluster(tmp_dir)
    try:
        yield cluster
    finally:
        cluster.stop()


# ------------------------------------------------------------------------------ Streamlit


def _http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # only ever loopback
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


@contextlib.contextmanager
def streamlit_server(
    app_path: Path,
    env: dict[str, str] | None = None,
    port: int | None = None,
    timeout: float = 60.0,
) -> Iterator[str]:
    """Run ``streamlit run app_path`` (cwd = repo root, so .streamlit/config.toml applies)
    on 127.0.0.1 and yield its base URL, e.g. ``http://127.0.0.1:8501``. The repository's
    ``app.py`` is served as ``gridmap serve`` serves it: through ``asgi.py``.

    Streamlit serves ``/app/static/...`` from the ``static/`` folder NEXT TO THE APP
    SCRIPT (not the cwd): a throwaway app in a temp dir needs a ``static`` symlink to
    ``REPO_ROOT / "static"`` to load the vendored Leaflet.

    ``env`` is added on top of ``os.environ``. Raises ServiceError with the server's
    output tail if /_stcore/health does not answer "ok" within ``timeout`` seconds.
    The whole process group is killed on exit.
    """
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    if Path(app_path).resolve() == REPO_ROOT / "app.py":
        app_path = REPO_ROOT / "asgi.py"  # the app as `gridmap serve` serves it (headers, errors)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(Path(app_path).resolve()),
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.enableStaticServing", "true",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=full_env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise ServiceError(
                    f"streamlit exited with code {proc.returncode} before it was healthy:\n"
                    f"{' '.join(cmd)}\n--- output tail ---\n{_tail(log_path)}"
                )
            with contextlib.suppress(OSError):
                status, body = _http_get(f"{base_url}/_stcore/health")
                if status == 200 and body.strip() == "ok":
                    break
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"streamlit did not report healthy on {base_url} within {timeout:.0f} s:\n"
                    f"{' '.join(cmd)}\n--- output tail ---\n{_tail(log_path)}"
                )
            time.sleep(0.2)
        yield base_url
    finally:
        _kill_group(proc)
        log_path.unlink(missing_ok=True)


def _kill_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# ------------------------------------------------------------------------------- Chromium

CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright: Any, **kwargs: Any) -> Any:
    """Launch the system Chromium headless (never a Playwright-downloaded build).

    ``browser = launch_chromium(p)`` inside ``with sync_playwright() as p:``.
    Extra keyword arguments go to ``playwright.chromium.launch``.
    """
    exe = os.environ.get("GRIDMAP_CHROMIUM", "/usr/bin/chromium")
    if not Path(exe).is_file():
        raise ServiceError(
            f"Chromium not found at {exe!r}; `apt-get install chromium` "
            "(scripts/test.sh does this) or set GRIDMAP_CHROMIUM"
        )
    try:
        return playwright.chromium.launch(
            executable_path=exe, headless=True, args=list(CHROMIUM_ARGS), **kwargs
        )
    except Exception as exc:
        raise ServiceError(f"could not launch Chromium at {exe}: {exc}") from exc


def block_external_network(page_or_context: Any, allowed_origin: str | None = None) -> list[str]:
    """Abort every request that is not to 127.0.0.1/localhost/::1 (or ``allowed_origin``).

    Returns the live list of blocked URLs, so a test can ``assert blocked == []``.
    Use it on the BrowserContext (covers iframes and popups) before the first
    ``goto``. Only HTTP(S) requests are routed: WebSockets are not intercepted, and
    data:/blob: URLs never leave the browser.
    """
    blocked: list[str] = []
    allowed = urlsplit(allowed_origin).netloc.lower() if allowed_origin else None

    def handle(route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if (
            parts.scheme in ("data", "blob")
            or host in LOOPBACK_HOSTS
            or (allowed and parts.netloc.lower() == allowed)
        ):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    page_or_context.route("**/*", handle)
    return blocked
