"""Benchmark 4 — the street overview page: payload size, server build time, time to a visible map.

A synthetic city of ``--sizes`` buildings (default 5k: ≈ 100 grids, 2 communities) is saved to
an SQLite file and loaded with :func:`gridmap.repository.load_street_layers`, as the app does.
Side by side:

* **gridmap** — :func:`gridmap.maps.street_map` (only the pop-up properties, escaped, coordinates
  rounded to 6 decimals, GeoJSON pop-ups);
* **plain folium** — the same four layers dumped with ``folium.GeoJson(frame)`` (every column,
  full precision) with a ``GeoJsonPopup`` of every column, on the same offline map.

For each: the time to build the map and render its HTML with the layers already loaded (the
app caches the layers; the map itself is rebuilt on every rerun), the HTML size, and the GeoJSON
it carries. Then in Chromium (``tests/_services.py``: ``launch_chromium``): the time from
navigation until every feature's path is in the map's overlay pane, for both HTML files served
by a local static server, and for the real app (``streamlit_server`` on ``app.py``: first load
with a cold cache, then a reload with the layers cached).

Run ``python -m bench.street_page --sizes 5k`` (or ``python bench/street_page.py``).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # python bench/street_page.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench._common import (
    REPO_ROOT,
    base_parser,
    markdown_table,
    parse_sizes,
    timed,
    write_results,
)

MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
PATHS = ".leaflet-overlay-pane path"


def plain_folium(layers):
    """The same layers as a plain folium dump: every column, full precision, on OfflineMap."""
    import folium

    from gridmap.maps import OfflineMap, street_bounds, street_centre

    fmap = OfflineMap(location=street_centre(layers), zoom_start=15, tiles=None)
    for name, frame in (("community", layers.communities), ("grid", layers.grids),
                        ("building", layers.buildings), ("station", layers.stations)):  # fmt: skip
        if frame.empty:
            continue
        fields = [c for c in frame.columns if c != frame.geometry.name]
        shown = frame.copy()
        for col in fields:  # JSON cannot carry timestamps or pd.NA: text, as a dump would
            shown[col] = shown[col].astype(str)
        folium.GeoJson(
            shown, name=name, popup=folium.GeoJsonPopup(fields=fields),
            tooltip=folium.GeoJsonTooltip(fields=fields[:2]),
        ).add_to(fmap)  # fmt: skip
    folium.LayerControl().add_to(fmap)
    fmap.fit_bounds(street_bounds(layers))
    return fmap


def geojson_bytes(fmap) -> int:
    """Bytes of the GeoJSON the map's layers carry (as folium embeds it: ASCII JSON)."""
    import folium

    total, stack = 0, [fmap]
    while stack:
        element = stack.pop()
        if isinstance(element, folium.GeoJson):
            total += len(json.dumps(element.data))
        stack.extend(element._children.values())
    return total


@contextlib.contextmanager
def static_server(root: Path):
    """Serve ``root`` on 127.0.0.1 with ``/app/static`` → the repo's static folder."""
    (root / "app").mkdir(exist_ok=True)
    link = root / "app" / "static"
    if not link.exists():
        link.symlink_to(REPO_ROOT / "static")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def time_to_map(
    page, url: str, expected: int, in_component: bool = False, login: tuple[str, str] | None = None
) -> float:
    """Seconds from navigation until ``expected`` feature paths are in the overlay pane (of the
    streamlit-folium component's iframe when ``in_component``); with ``login`` (name, password)
    the app's login form is filled first (its time included: the app asks for it) — unless
    the page opens logged in already (the served app's session cookie, as on a reload)."""
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    if login is not None:
        form = page.locator('[data-testid="stForm"]')
        logged_in = page.get_by_role("button", name="退出登录")
        form.or_(logged_in).first.wait_for(timeout=120_000)
    if login is not None and form.count():
        form.locator("input").nth(0).fill(login[0])
        form.locator('input[type="password"]').fill(login[1])
        form.get_by_test_id("stBaseButton-primaryFormSubmit").click()
    target = page.main_frame
    if in_component:
        page.locator(MAP_FRAME).first.wait_for(state="attached", timeout=120_000)
        while not (found := [f for f in page.frames if "streamlit_folium" in f.url]):
            if time.perf_counter() - start > 120:
                raise TimeoutError("the map component did not appear")
            page.wait_for_timeout(20)
        target = found[0]
    target.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length >= n",
        arg=[PATHS, expected],
        timeout=120_000,
        polling=20,
    )
    return time.perf_counter() - start


def _bench_user(db_url: str) -> tuple[str, str]:
    """A street administrator for the app run (the app asks for a login; gridmap.auth)."""
    import secrets

    from gridmap.auth import SYSTEM, create_user, list_users
    from gridmap.db import make_engine

    engine = make_engine(db_url)
    name, password = "bench_admin", secrets.token_urlsafe(16)
    if name in set(list_users(engine)["name"]):
        from gridmap.auth import reset_password

        reset_password(engine, name, password, principal=SYSTEM)
    else:
        create_user(engine, name, password, "street_admin", principal=SYSTEM)
    engine.dispose()
    return name, password


def browser_times(html_files: dict[str, Path], db_url: str, expected: int, app: bool) -> dict:
    from playwright.sync_api import sync_playwright

    from _services import block_external_network, launch_chromium, streamlit_server

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="gridmap-page-") as tmp, sync_playwright() as pw:
        root = Path(tmp)
        for path in html_files.values():
            (root / path.name).write_bytes(path.read_bytes())
        browser = launch_chromium(pw)
        with static_server(root) as base:
            for name, path in html_files.items():
                context = browser.new_context(viewport={"width": 1440, "height": 1000})
                blocked = block_external_network(context, base)
                page = context.new_page()
                out[f"{name}_visible_s"] = time_to_map(page, f"{base}/{path.name}", expected)
                out[f"{name}_blocked"] = len(blocked)
                context.close()
        if app:
            env = {"GRIDMAP_DATABASE_URL": db_url}
            login = _bench_user(db_url)
            with streamlit_server(REPO_ROOT / "app.py", env) as base:
                context = browser.new_context(viewport={"width": 1440, "height": 1100})
                block_external_network(context, base)
                page = context.new_page()
                out["app_cold_visible_s"] = time_to_map(page, base, expected, True, login)
                out["app_warm_visible_s"] = time_to_map(page, base, expected, True, login)
                context.close()
        browser.close()
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = base_parser(__doc__.splitlines()[0], "5k")
    parser.add_argument("--no-browser", action="store_true", help="sizes and build times only")
    parser.add_argument("--no-app", action="store_true", help="skip the Streamlit app run")
    args = parser.parse_args(argv)
    from gridmap.citygen import build_city, save_city
    from gridmap.db import init_database, make_engine
    from gridmap.maps import street_map
    from gridmap.repository import load_street_layers

    rows = []
    with tempfile.TemporaryDirectory(prefix="gridmap-street-") as tmp:
        os.chmod(tmp, 0o755)
        for n in parse_sizes(args.sizes):
            db_url = f"sqlite:///{Path(tmp) / f'city-{n}.db'}"
            engine = make_engine(db_url, create=True)
            init_database(engine)
            save_city(engine, build_city(n, seed=args.seed))
            layers = load_street_layers(engine)
            engine.dispose()
            ours = timed(lambda layers=layers: street_map(layers).get_root().render(), repeat=3)
            plain = timed(lambda layers=layers: plain_folium(layers).get_root().render(), repeat=3)
            ours_json = geojson_bytes(street_map(layers))
            plain_json = geojson_bytes(plain_folium(layers))
            files = {}
            for name, t in (("gridmap", ours), ("plain", plain)):
                files[name] = Path(tmp) / f"{name}-{n}.html"
                files[name].write_text(t.result, encoding="utf-8")
            expected = len(layers.communities) + len(layers.grids) + len(layers.buildings)
            row = {
                "buildings": len(layers.buildings),
                "grids": len(layers.grids),
                "features": expected + len(layers.stations),
                "gridmap_html_mb": len(ours.result.encode()) / 1e6,
                "gridmap_geojson_mb": ours_json / 1e6,
                "gridmap_build_s": ours.seconds,
                "plain_html_mb": len(plain.result.encode()) / 1e6,
                "plain_geojson_mb": plain_json / 1e6,
                "plain_build_s": plain.seconds,
            }
            row["size_ratio"] = row["plain_html_mb"] / row["gridmap_html_mb"]
            if not args.no_browser:
                row |= browser_times(files, db_url, expected, app=not args.no_app)
            rows.append(row)
    cols = ["buildings", "features", "gridmap_html_mb", "plain_html_mb", "size_ratio",
            "gridmap_build_s", "plain_build_s", "gridmap_visible_s", "plain_visible_s",
            "app_cold_visible_s", "app_warm_visible_s"]  # fmt: skip
    print(markdown_table(rows, cols))
    path = write_results("street_page", {"sizes": rows}, args.out)
    print(f"\nresults: {path}")
    print(json.dumps(rows, indent=1, default=str), file=sys.stderr)
    return {"rows": rows, "path": str(path)}


if __name__ == "__main__":
    main()
