"""Benchmark 6 — the server time of one widget change on each page, on the demo street.

What a user pays when they change a filter or a slider: Streamlit reruns the page (or only the
fragment holding the widget) on the server before the browser redraws. Each page runs in
Streamlit's AppTest against a copy of the demo database (built by ``gridmap demo``), logged in as
the demo street administrator, with Streamlit's caches cleared first. Per page:

* **cold** — the first run after the caches were cleared (layers read, analyses computed);
* **rerun** — a run with nothing changed (everything cached: the map rebuilt and sent);
* **change** — the median of ``--repeat`` runs, each after one widget change (alternating two
  values, so that every run sees a change), for the widgets listed in :data:`CHANGES`.

With ``--browser``, also what the user waits for in Chromium (the served app,
``tests/_services.py``): from the click on a radio option (the service radius on 覆盖情况, the
measure on 诉求热点) until the page is idle and the new map is drawn — server run, map sent,
Leaflet done.

Target (issue 19, item 7): ≤ 1 s of server time per change. Run
``python -m bench.interaction [--repeat 3] [--browser]``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # python bench/interaction.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench._common import REPO_ROOT, markdown_table, write_results

#: page script → [(widget kind, key, value A, value B)]: the changes timed on each page.
CHANGES: dict[str, list[tuple[str, str, object, object]]] = {
    "views/coverage.py": [
        ("radio", "radius", 300, 500),
        ("multiselect", "kinds", ["gap"], ["gap", "overlap"]),
    ],
    "views/density.py": [
        ("slider", "density_classes", 4, 5),
        ("checkbox", "density_heat", True, False),
    ],
    "views/hotspots.py": [("radio", "hot_measure", "rate", "count")],
    "views/requests.py": [
        ("multiselect", "rq_status", ["received"], ["received", "assigned"]),
        ("checkbox", "rq_overdue", True, False),
    ],
    "views/planning.py": [("slider", "w_hotspot", 20, 10)],
    "views/organisation.py": [("multiselect", "member_categories", ["resident"], ["retired"])],
}


def _set(at, kind: str, key: str, value: object) -> None:
    getattr(at, kind)(key=key).set_value(value)


def measure_page(script: str, url: str, repeat: int) -> dict:
    """Cold, rerun and per-change seconds of one page (AppTest, logged in as demo_admin)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    sys.path.insert(0, str(REPO_ROOT / "tests" / "ui"))
    from auth_helpers import login

    st.cache_data.clear()
    st.cache_resource.clear()
    at = login(AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=600), url)
    at.run()
    at.switch_page(script)
    start = time.perf_counter()
    at.run()
    cold = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{script}: {at.exception}")
    start = time.perf_counter()
    at.run()
    rerun = time.perf_counter() - start
    row = {"page": Path(script).stem, "cold_s": cold, "rerun_s": rerun}
    changes = []
    for kind, key, first, second in CHANGES.get(script, []):
        times = []
        for k in range(repeat):
            _set(at, kind, key, first if k % 2 == 0 else second)
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
            if at.exception:
                raise RuntimeError(f"{script} {key}: {at.exception}")
        changes.append({"widget": key, "median_s": statistics.median(times)})
    row["changes"] = changes
    row["worst_change_s"] = max((c["median_s"] for c in changes), default=float("nan"))
    return row


#: page → (radio label, option A, option B): the change timed in Chromium.
BROWSER_CHANGES: dict[str, tuple[str, str, str]] = {
    "coverage": ("服务半径", "300 米(5分钟生活圈)", "500 米(10分钟生活圈)"),
    "hotspots": ("指标", "每百户诉求件数", "诉求件数"),
}


@contextlib.contextmanager
def _served_page(url: str):
    """The app served on ``url``'s database and one Chromium page on it: ``(base, page)``."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO_ROOT / "tests"))
    sys.path.insert(0, str(REPO_ROOT / "tests" / "ui"))
    from _services import launch_chromium, streamlit_server

    env = {"GRIDMAP_DATABASE_URL": url}
    with streamlit_server(REPO_ROOT / "app.py", env) as base, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield base, browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        finally:
            browser.close()


def browser_changes(url: str, repeat: int) -> list[dict]:
    """Median seconds in Chromium from a radio click to the redrawn map, per page."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    rows = []
    with _served_page(url) as (base, page):
        from auth_helpers import browser_login, forget_map, streamlit_rerun, wait_for_map

        from gridmap import auth

        for name, (group, first, second) in BROWSER_CHANGES.items():
            start = time.perf_counter()
            page.goto(f"{base}/{name}", wait_until="commit")
            browser_login(page, "demo_admin", auth.DEMO_USERS["demo_admin"][1])
            wait_for_map(page)
            opened = time.perf_counter() - start
            radio = page.locator('[data-testid="stRadio"]').filter(has_text=group).first
            times = []
            for k in range(min(repeat, 2)):  # each option once: a new map each time
                option = first if k % 2 == 0 else second
                forget_map(page)
                start = time.perf_counter()
                with streamlit_rerun(page):
                    radio.get_by_text(option, exact=True).click()
                # (a map drawn before, for the same options again, is kept, not redrawn)
                with contextlib.suppress(PlaywrightTimeout):
                    wait_for_map(page, timeout=15_000)
                times.append(time.perf_counter() - start)
            rows.append(
                {"page": name, "open_s": opened, "change_median_s": statistics.median(times)}
            )
    return rows


#: page → (tab, radio label, option A, option B): a change inside one tab of a page, timed in
#: Chromium from the click until the app is idle (the tab is a fragment: the page's map is not
#: rebuilt nor sent again).
BROWSER_TAB_CHANGES: dict[str, tuple[str, str, str, str]] = {
    "requests": ("三率考核", "考核单位", "网格", "社区"),  # (社区 is the default)
}


def browser_tab_changes(url: str, repeat: int) -> list[dict]:
    """Median seconds in Chromium from a radio click inside a tab until the app is idle."""
    rows = []
    with _served_page(url) as (base, page):
        from auth_helpers import browser_login, streamlit_rerun, wait_for_map

        from gridmap import auth

        for name, (tab, group, first, second) in BROWSER_TAB_CHANGES.items():
            page.goto(f"{base}/{name}", wait_until="commit")
            browser_login(page, "demo_admin", auth.DEMO_USERS["demo_admin"][1])
            wait_for_map(page)
            page.get_by_role("tab", name=tab).click()
            radio = page.locator('[data-testid="stRadio"]').filter(has_text=group).first
            radio.wait_for()
            times = []
            for k in range(max(repeat, 2)):
                option = first if k % 2 == 0 else second
                start = time.perf_counter()
                with streamlit_rerun(page):
                    radio.get_by_text(option, exact=True).click()
                times.append(time.perf_counter() - start)
            rows.append({"page": f"{name} · {tab}", "change_median_s": statistics.median(times)})
    return rows


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark (``argv`` as on the command line); the rows and the JSON's path."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="changes timed per widget")
    parser.add_argument("--pages", default=",".join(CHANGES), help="comma-separated scripts")
    parser.add_argument("--browser", action="store_true", help="also time changes in Chromium")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    browser_rows: list[dict] = []
    tab_rows: list[dict] = []

    from gridmap.bootstrap import create_demo_database

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "demo.db"
        url = f"sqlite:///{target}"
        create_demo_database(url).dispose()
        os.environ["GRIDMAP_DATABASE_URL"] = url
        rows = []
        for script in args.pages.split(","):
            shutil.copy(target, Path(tmp) / "page.db")  # every page starts from the demo
            os.environ["GRIDMAP_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'page.db'}"
            rows.append(measure_page(script, os.environ["GRIDMAP_DATABASE_URL"], args.repeat))
            print(rows[-1], flush=True)
        if args.browser:
            shutil.copy(target, Path(tmp) / "browser.db")
            browser_rows = browser_changes(f"sqlite:///{Path(tmp) / 'browser.db'}", args.repeat)
            shutil.copy(target, Path(tmp) / "browser.db")
            tab_rows = browser_tab_changes(f"sqlite:///{Path(tmp) / 'browser.db'}", args.repeat)
    flat = [
        {
            "page": r["page"],
            "cold_s": r["cold_s"],
            "rerun_s": r["rerun_s"],
            "worst_change_s": r["worst_change_s"],
            "changes": ", ".join(f"{c['widget']} {c['median_s']:.2f}" for c in r["changes"]),
        }
        for r in rows
    ]
    print(markdown_table(flat, ["page", "cold_s", "rerun_s", "worst_change_s", "changes"]))
    if browser_rows:
        print(markdown_table(browser_rows, ["page", "open_s", "change_median_s"]))
        print(markdown_table(tab_rows, ["page", "change_median_s"]))
    results = {"pages": rows, "browser": browser_rows, "browser_tabs": tab_rows}
    path = write_results("interaction", results, args.out)
    print(path)
    return {"rows": rows, "path": str(path)}


if __name__ == "__main__":
    main()
