"""gridmap.report: the printable community report, HTML (self-contained) and PDF (Chromium)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gridmap import settings
from gridmap.bootstrap import create_demo_database
from gridmap.db import open_database
from gridmap.errors import InputError
from gridmap.report import SECTIONS, ReportError, build_community_report, html_to_pdf
from gridmap.repository import community_summary

DEMO_COMMUNITIES = [f"420303001-00{i}" for i in range(1, 8)]
PERMUTATIONS = 99  # the hotspot section's Gi*; fewer permutations keep the test quick


@pytest.fixture(scope="module")
def demo_engine(demo_db_url: str):
    engine = open_database(demo_db_url)
    yield engine
    engine.dispose()


def _html(engine, code: str) -> str:
    return build_community_report(engine, code, "html", permutations=PERMUTATIONS).decode("utf-8")


def _check_self_contained(page: str) -> None:
    assert not re.search(r"https?://", page), "the report must not refer to any URL"
    assert "<script" not in page and "<link" not in page
    sources = re.findall(r"src='([^']*)'", page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)


@pytest.mark.parametrize("code", DEMO_COMMUNITIES)
def test_html_report_for_every_demo_community(demo_engine, code: str) -> None:
    page = _html(demo_engine, code)
    _check_self_contained(page)
    for key, (title, _en) in SECTIONS.items():
        assert f"<section id='{key}'>" in page and title in page
    assert page.count("data:image/png;base64,") == 4  # coverage, density, hotspots, ranking
    figures = community_summary(demo_engine).set_index("code").loc[code]
    assert f"{figures['name']}网格化管理工作报告" in page
    assert f"住户<b>{figures['households']:,} 户</b>" in page
    assert f"网格<b>{figures['grids']} 个</b>" in page
    assert f"党员<b>{figures['members']:,} 名</b>" in page
    assert "服务半径按 500 米计" in page


def test_report_speaks_plain_chinese_on_the_local_clock(demo_engine, monkeypatch) -> None:
    from gridmap.planning import FACTORS

    page = _html(demo_engine, "420303001-002")
    for key, (zh, *_rest) in FACTORS.items():
        weight = settings.PLANNING_WEIGHTS[key]
        assert f"{key} {weight:g}" not in page  # no raw key, e.g. "households_per_worker 15"
        assert f"{zh} {weight:g} 分" in page
    stamp = re.search(r"生成于 (\d{4}-\d\d-\d\d \d\d:\d\d)\(北京时间", page)
    assert stamp, "the report is stamped in the street's time zone"
    monkeypatch.setenv("TZ", "UTC")  # a server on UTC still stamps Beijing time
    import time

    time.tzset()
    try:
        import datetime as dt
        from zoneinfo import ZoneInfo

        stamp = re.search(r"生成于 ([\d :-]+)\(", _html(demo_engine, "420303001-002")).group(1)
        made = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M").replace(
            tzinfo=ZoneInfo("Asia/Shanghai")
        )
        assert abs((dt.datetime.now(dt.UTC) - made).total_seconds()) < 600
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_report_in_english_keeps_chinese_only_in_names(demo_engine) -> None:
    """The English report: English headings, figures, tables, map legends and problem
    sentences; what Chinese is left is the stored names of places, people and organisations."""
    import html as html_module

    page = build_community_report(
        demo_engine, "420303001-004", "html", permutations=PERMUTATIONS, lang="en"
    ).decode("utf-8")
    _check_self_contained(page)
    assert "<html lang='en'>" in page
    for key, (zh, en) in SECTIONS.items():
        assert f"<section id='{key}'><h2>{en}</h2>" in page and zh not in page
    assert "(Beijing time, gridmap)" in page and "Service radius 500 m" in page
    body = re.sub(r"data:image/png;base64,[^']*", "", page.split("</style>", 1)[1])
    body = html_module.unescape(re.sub(r"<[^>]+>", "\n", body))
    left = [line for line in _without_names(demo_engine, body) if CJK.search(line)]
    assert not left, left[:10]


def test_every_problem_of_the_demo_has_its_english_sentence(demo_engine) -> None:
    from gridmap.coverage import check_coverage
    from gridmap.repository import load_street_layers

    layers = load_street_layers(demo_engine)
    from gridmap.repository import read_table

    problems = check_coverage(
        layers.communities, layers.grids, layers.buildings, layers.stations,
        organisations=read_table(demo_engine, "organisation"),  # blind spots' reasons too
    ).problems  # fmt: skip
    assert {"org_uncovered", "blind_spot_building"} <= set(problems["kind"])
    assert len(problems) >= 20 and problems["detail_en"].str.len().gt(0).all()
    assert (problems["detail_en"] != problems["detail"]).all()
    left = [line for line in _without_names(demo_engine, "\n".join(problems["detail_en"]))
            if CJK.search(line)]  # fmt: skip
    assert not left, left[:10]


CJK = re.compile(r"[\u4e00-\u9fff]")


def _without_names(engine, text: str) -> list[str]:
    """The lines of ``text`` with every stored name of a place, person or organisation cut."""
    from gridmap.blindspots import compound_names
    from gridmap.repository import read_table

    names = set()
    for table in ("street", "community", "grid", "building", "service_station", "person",
                  "organisation", "party_org"):  # fmt: skip
        names |= set(read_table(engine, table)["name"].dropna().astype(str))
    names |= set(compound_names(read_table(engine, "building")))  # 小区: building names cut
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, "")
    return text.splitlines()


def test_report_names_the_demo_defects(demo_engine) -> None:
    from gridmap.demo import DEMO_DEFECTS

    page = _html(demo_engine, "420303001-007")
    for grid in DEMO_DEFECTS["far_from_station_grids"]:
        assert grid in page
    assert "服务半径外住户" in page and "未建党组织" in page
    assert "米服务半径外" in page  # a "why" sentence of the ranking


def test_pdf_report(demo_engine, tmp_path: Path, output_dir: Path) -> None:
    pdf = build_community_report(demo_engine, "420303001-004", "pdf", permutations=PERMUTATIONS)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert pages >= len(SECTIONS) - 1  # each section starts a page; coverage shares page 1
    target = tmp_path / "report.pdf"
    target.write_bytes(pdf)
    # page 1 carries the headline figures and the headline map (coverage problems)
    run = {"check": True, "capture_output": True, "text": True, "timeout": 60}
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(target), "-"], **run).stdout
    assert "一、社区概况" in first and "二、网格覆盖问题" in first
    images = subprocess.run(["pdfimages", "-f", "1", "-l", "1", "-list", str(target)], **run).stdout
    assert len(images.splitlines()) > 2, images  # a header of two lines, then the map
    # poppler-utils is installed by scripts/test.sh: the first page must render as an image
    assert shutil.which("pdftoppm"), "pdftoppm missing: run the tests through scripts/test.sh"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(target),
                    str(output_dir / "report_page")], check=True, timeout=120)  # fmt: skip
    pngs = sorted(output_dir.glob("report_page*.png"))
    assert pngs and pngs[0].read_bytes().startswith(b"\x89PNG")


def test_report_on_each_backend(db_url: str) -> None:
    engine = create_demo_database(db_url)
    try:
        page = _html(engine, "420303001-001")
    finally:
        engine.dispose()
    _check_self_contained(page)
    assert "东岳路社区" in page


def test_bad_requests_are_refused(demo_engine) -> None:
    with pytest.raises(InputError, match="no community with code"):
        build_community_report(demo_engine, "999")
    with pytest.raises(InputError, match="unknown report format"):
        build_community_report(demo_engine, "420303001-001", "docx")


def test_missing_font_fails_clearly(demo_engine, monkeypatch) -> None:
    monkeypatch.setattr(settings, "REPORT_CJK_FONT", "No Such Font CJK")
    with pytest.raises(ReportError, match="fonts-noto-cjk"):
        _html(demo_engine, "420303001-001")


def test_missing_chromium_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="GRIDMAP_CHROMIUM"):
        html_to_pdf("<html></html>", chromium=str(tmp_path / "no-chromium"))


def test_cli_report_and_sites(demo_db_url: str, tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from gridmap.cli import main

    runner = CliRunner()
    out = tmp_path / "r.html"
    done = runner.invoke(main, ["report", "--db", demo_db_url, "--community", "420303001-002",
                                "--out", str(out)])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "柏林路社区网格化管理工作报告" in out.read_text(encoding="utf-8")
    done = runner.invoke(main, ["report", "--db", demo_db_url, "--community", "420303001-002",
                                "--out", str(out), "--lang", "en"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "柏林路社区: grid management report" in out.read_text(encoding="utf-8")
    bad = runner.invoke(main, ["report", "--db", demo_db_url, "--community", "x", "--out",
                               str(out)])  # fmt: skip
    assert bad.exit_code == 2 and "no community" in bad.output
    done = runner.invoke(main, ["sites", "--db", demo_db_url, "--community", "420303001-007",
                                "-k", "2", "--radius", "300", "--format", "json"])  # fmt: skip
    assert done.exit_code == 0, done.output
    payload = json.loads(done.output)
    assert payload["status"] == "Optimal" and len(payload["sites"]) == 2
    assert payload["after"] - payload["before"] == sum(s["gain"] for s in payload["sites"])


def test_report_lists_the_blind_spots_of_its_community(demo_engine) -> None:
    from gridmap.demo import DEMO_DEFECTS

    page = build_community_report(
        demo_engine, "420303001-003", "html", permutations=PERMUTATIONS
    ).decode("utf-8")
    assert "两新组织未覆盖" in page and "党建盲区楼宇" in page
    quarter = [c for c in DEMO_DEFECTS["organisations_uncovered"] if c in page]
    assert quarter, "no uncovered organisation of the quarter is named"
