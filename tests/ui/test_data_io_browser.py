"""数据导入导出 in real Chromium, offline: upload a GBK spreadsheet whose file name is hostile
markdown through the browser's file picker, check the dry run, import, and find the new station
in the database — with nothing fetched from outside and the name shown as text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from auth_helpers import browser_login, streamlit_rerun, wait_for_app_idle
from playwright.sync_api import expect, sync_playwright
from sqlalchemy.engine import make_url

from _services import block_external_network, launch_chromium, streamlit_server
from gridmap.db import open_database
from gridmap.io import upload_name
from gridmap.repository import read_table

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "gbk_stations.csv"
#: Browsers send a bare file name (no "/"), but markdown needs none to do harm.
HOSTILE_NAME = "[点我](javascript:alert(1)) **粗体** :red[站点] $x$.csv"


@pytest.mark.browser
def test_upload_dry_run_and_import_in_chromium(
    demo_db_url: str, tmp_path: Path, output_dir: Path
) -> None:
    target = tmp_path / "demo.db"
    shutil.copy(make_url(demo_db_url).database, target)
    url = f"sqlite:///{target}"
    before = read_table(open_database(url), "service_station")

    with streamlit_server(REPO_ROOT / "app.py", {"GRIDMAP_DATABASE_URL": url}) as base, \
            sync_playwright() as pw:  # fmt: skip
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1440, "height": 1400}, locale="zh-CN")
        blocked = block_external_network(context, base)
        page = context.new_page()
        page.goto(f"{base}/data_io", wait_until="domcontentloaded")
        browser_login(page)

        layer = page.locator('[data-testid="stSelectbox"]').filter(has_text="导入到图层")
        layer.wait_for(timeout=60_000)
        layer.click()
        with streamlit_rerun(page):  # the page re-runs for the chosen layer
            page.get_by_role("option", name="党群服务站(点)").click()
        expect(layer.get_by_role("combobox")).to_have_value("党群服务站(点)")
        page.locator('input[type="file"]').set_input_files(
            files=[{"name": HOSTILE_NAME, "mimeType": "text/csv", "buffer": SAMPLE.read_bytes()}]
        )
        page.get_by_text("试导入结果").wait_for(timeout=90_000)
        wait_for_app_idle(page)  # the whole dry run shown
        body = page.locator("body").inner_text()
        shown = upload_name(HOSTILE_NAME)  # reserved characters replaced, markdown kept
        assert "[点我](" in shown and "__粗体__" in shown
        assert f"{shown}:1 条记录,编码 GB18030" in body  # shown as text; GBK detected
        main = page.locator('[data-testid="stMain"]')
        assert main.locator("a").filter(has_text="点我").count() == 0  # no link made
        assert main.locator("strong, em").filter(has_text="粗体").count() == 1  # our **name**
        assert main.get_by_text("粗体", exact=True).count() == 0  # not bold on its own
        page.get_by_role("button", name="导入", exact=True).click()
        page.get_by_text("已导入").wait_for(timeout=60_000)
        page.screenshot(path=str(output_dir / "data_io_import.png"), full_page=True)
        browser.close()

    after = read_table(open_database(url), "service_station")
    assert len(after) == len(before) + 1
    assert "国标站" in set(after["name"])  # decoded from GBK
    assert blocked == [], f"requests left the machine: {blocked}"
